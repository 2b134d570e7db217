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


def webhook_url_check(url: str) -> str:
    """Returns the URL when it is http(s) with a host and, unless `LMS_WEBHOOK_ALLOW_PRIVATE`, every
    address the host resolves to is public. Raises WebhookUrlRefused with an actionable sentence."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookUrlRefused("The webhook URL must be an absolute http or https URL with a host.")
    if parts.username or parts.password:
        raise WebhookUrlRefused("The webhook URL may not carry credentials; verify the signature instead.")
    if settings.LMS_WEBHOOK_ALLOW_PRIVATE:
        return url
    try:
        addresses = {ipaddress.ip_address(parts.hostname)}
    except ValueError:
        try:
            infos = socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError):
            raise WebhookUrlRefused(f"The webhook host {parts.hostname} does not resolve; check the URL.") from None
        addresses = {ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos}
    if any(_is_private(address) for address in addresses):
        raise WebhookUrlRefused(
            f"The webhook host {parts.hostname} is a private, loopback or link-local address, which this "
            "deployment refuses; use a public endpoint (operators may set LMS_WEBHOOK_ALLOW_PRIVATE=true)."
        )
    return url
