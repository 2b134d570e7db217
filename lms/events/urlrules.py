"""Which webhook URLs a subscription may name (DECISIONS §9)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings


class WebhookUrlRefused(ValueError):
    pass


def _is_private(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return (
        address.is_private or address.is_loopback or address.is_link_local or address.is_reserved
        or address.is_multicast or address.is_unspecified
    )


def _is_local_name(host: str) -> bool:
    # Names that always mean this machine (RFC 6761), refused without asking DNS.
    host = host.rstrip(".").lower()
    return host == "localhost" or host.endswith(".localhost")


def webhook_url_check(url: str, *, resolve: bool = False) -> str:
    """Returns the URL when it is http(s) with a host and, unless `LMS_WEBHOOK_ALLOW_PRIVATE`, its
    host is not a private, loopback or link-local address. Raises WebhookUrlRefused with an
    actionable sentence.

    Without `resolve` (a request saving a subscription) only the URL itself is judged: an IP
    address, or `localhost`. Asking DNS there would hold the request up for as long as a resolver
    cares to take, and prove little, since the name may point elsewhere by the time anything is
    sent. `resolve` (the delivery, just before each send) also refuses a host any of whose
    addresses is private, and one that does not resolve.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookUrlRefused("The webhook URL must be an absolute http or https URL with a host.")
    if parts.username or parts.password:
        raise WebhookUrlRefused("The webhook URL may not carry credentials; verify the signature instead.")
    if settings.LMS_WEBHOOK_ALLOW_PRIVATE:
        return url
    refusal = WebhookUrlRefused(
        f"The webhook host {parts.hostname} is a private, loopback or link-local address, which this "
        "deployment refuses; use a public endpoint (operators may set LMS_WEBHOOK_ALLOW_PRIVATE=true)."
    )
    if _is_local_name(parts.hostname):
        raise refusal
    try:
        addresses = {ipaddress.ip_address(parts.hostname)}
    except ValueError:
        if not resolve:
            return url
        try:
            infos = socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError):
            raise WebhookUrlRefused(f"The webhook host {parts.hostname} does not resolve; check the URL.") from None
        addresses = {ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos}
    if any(_is_private(address) for address in addresses):
        raise refusal
    return url
