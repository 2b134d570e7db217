"""The WSGI handler the server runs (lms.wsgi): Django's, with resolved routes remembered by shape.

Django resolves every request's path from the top of the URLconf: each pattern ahead of the
match is tried, and each level of `include()` builds a ResolverMatch: about 20 µs of a floor
request, and 50 µs of `GET /courses/:id`, whose route sits below a dozen others (issue 15). The
URLconf does not change while a process serves, so the match of a path is the same on every
request, and so is the match of every path of the same *shape*: the path with each UUID segment
replaced by a placeholder, when nothing Django tried on the way to the match can tell one UUID
from another (see `_uniform_over_uuids`). This handler keeps one match per shape:

- a path that IS its route (no converter: `bench/drf-hello`, `courses/search`) is its own shape;
- a path whose route's only parameters are `<uuid:…>` segments (`courses/<uuid:pk>`) is kept under
  its shape, and each request's kwargs are converted from its own segments.

Every shape kept is the shape of one route of the URLconf, so the memo is bounded by the URLconf,
never by the paths clients send; every other path (a `<str:…>` argument, a regular expression,
the 404 catch-all) resolves as before, every time.
"""

from __future__ import annotations

import asyncio
import re
import threading
import weakref
from functools import partial

from django.core import signals
from django.core.cache import caches, close_caches
from django.core.cache.backends.base import BaseCache
from django.core.handlers.base import reset_urlconf
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest, get_script_name
from django.db import close_old_connections, connections, reset_queries
from django.dispatch.dispatcher import _make_id
from django.http import HttpResponseBase
from django.urls import ResolverMatch, get_resolver, set_script_prefix
from django.urls.converters import SlugConverter, StringConverter, UUIDConverter
from django.urls.resolvers import RoutePattern
from django.utils.module_loading import import_string

from lms.api.hosts import checked_host

# Exactly what `<uuid:…>` accepts, as a whole segment of the path.
_UUID_TEXT = re.compile(UUIDConverter.regex)
_UUID_SEGMENT = re.compile(rf"(?<=/){UUIDConverter.regex}(?=/|\Z)")
_UUID_PLACEHOLDER = "<uuid>"
_PARAMETER_SEGMENT = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<parameter>[^>]+)>")
# Converters that treat every UUID alike: uuid, str and slug match any whole UUID segment, so whether
# they match depends on where the segment is, never on its digits. (`int` would match the leading
# digits of some UUIDs in a prefix route, `path` spans segments; a project's own converter may do
# anything.) Exact types: PathConverter is a StringConverter.
_UNIFORM_CONVERTERS = (UUIDConverter, StringConverter, SlugConverter)
_HEX_OR_HYPHEN = frozenset("0123456789abcdef-")


def _fresh_copy(match: ResolverMatch) -> ResolverMatch:
    # A view may change the kwargs it is given; no request sees another's. (ResolverMatch refuses
    # copy.copy, which goes through pickling.)
    copy = ResolverMatch.__new__(ResolverMatch)
    copy.__dict__.update(match.__dict__)
    copy.kwargs = dict(match.kwargs)
    return copy


def _uniform_over_uuids(pattern) -> bool:
    """Whether a URL pattern's match gives the same answer for every UUID in a UUID segment: a
    route (not a regular expression) whose pieces between slashes are each one uniform converter,
    or literal text that cannot overlap a UUID (empty, or with a character no UUID has)."""
    if type(pattern) is not RoutePattern or not isinstance(pattern._route, str):  # a lazy route follows the language
        return False
    for piece in pattern._route.split("/"):
        parameter = _PARAMETER_SEGMENT.fullmatch(piece)
        if parameter is not None:
            if type(pattern.converters.get(parameter["parameter"])) not in _UNIFORM_CONVERTERS:
                return False
        elif "<" in piece or (piece and set(piece) <= _HEX_OR_HYPHEN):
            return False
    return True


class _UuidRoute:
    """A match remembered for a shape, and where in the path each of its kwargs comes from."""

    __slots__ = ("match", "parameters")

    def __init__(self, match: ResolverMatch, parameters: tuple[tuple[int, str, UUIDConverter], ...]):
        self.match = match
        self.parameters = parameters

    def for_path(self, path: str) -> ResolverMatch:
        segments = path.split("/")
        copy = ResolverMatch.__new__(ResolverMatch)
        copy.__dict__.update(self.match.__dict__)
        copy.captured_kwargs = {name: converter.to_python(segments[index]) for index, name, converter in self.parameters}
        copy.kwargs = dict(copy.captured_kwargs)
        return copy


def _uuid_route(path: str, match: ResolverMatch) -> _UuidRoute | None:
    """The match of `path` as one for every path of its shape, or None when its shape may resolve
    otherwise for another UUID, or takes anything but UUIDs from the path."""
    if match.args or match.extra_kwargs or not match.captured_kwargs:
        return None
    converters: dict = {}
    for tried in match.tried[-1]:  # the chain that matched: each include(), then the route
        converters.update(tried.pattern.converters)
    segments, route_segments = path.split("/"), ["", *match.route.split("/")]
    if len(segments) != len(route_segments):
        return None
    parameters = []
    for index, (segment, piece) in enumerate(zip(segments, route_segments, strict=True)):
        parameter = _PARAMETER_SEGMENT.fullmatch(piece)
        if parameter is None:
            continue
        converter = converters.get(parameter["parameter"])
        # Only UUIDs become placeholders: a `<str:…>` argument is client text, and keyed by it the
        # memo would grow with what clients send.
        if type(converter) is not UUIDConverter or not _UUID_TEXT.fullmatch(segment):
            return None
        parameters.append((index, parameter["parameter"], converter))
    if {name for _, name, _ in parameters} != set(match.captured_kwargs):
        return None
    # Last, as the dearest check (it runs again on each request of a shape not kept): had a pattern
    # tried on the way told one UUID from another, another path of this shape could match elsewhere.
    if not all(_uniform_over_uuids(tried.pattern) for chain in match.tried for tried in chain):
        return None
    return _UuidRoute(_fresh_copy(match), tuple(parameters))


class RouteShapeMemo:
    """path shape -> the ResolverMatch Django's resolver gave a path of that shape (module docstring)."""

    def __init__(self) -> None:
        self._resolver = None
        self._matches: dict[str, ResolverMatch] = {}
        self._uuid_routes: dict[str, _UuidRoute] = {}
        # Routes a UUID path matched but whose shape could not be kept (an admin page behind
        # `<path:…>` patterns): their check, which reads every pattern tried, is not repeated on
        # each request. Routes, not paths: bounded by the URLconf as well.
        self._routes_not_kept: set[str] = set()

    def resolve(self, resolver, path: str) -> ResolverMatch:
        if resolver is not self._resolver:
            # Another URLconf (tests override ROOT_URLCONF; Django then builds a new resolver).
            self._resolver, self._matches, self._uuid_routes, self._routes_not_kept = resolver, {}, {}, set()
        remembered = self._matches.get(path)
        if remembered is not None:
            return _fresh_copy(remembered)
        shape, uuids = _UUID_SEGMENT.subn(_UUID_PLACEHOLDER, path)
        if uuids:
            uuid_route = self._uuid_routes.get(shape)
            # A client may send the placeholder itself: then fewer UUIDs than the route's parameters.
            if uuid_route is not None and len(uuid_route.parameters) == uuids:
                return uuid_route.for_path(path)
        match = resolver.resolve(path)
        if not uuids:
            if match.route == path[1:] and not match.args and not match.captured_kwargs:
                self._matches[path] = _fresh_copy(match)
        elif match.route not in self._routes_not_kept:
            uuid_route = _uuid_route(path, match)
            if uuid_route is not None:
                self._uuid_routes[shape] = uuid_route
            else:
                self._routes_not_kept.add(match.route)
        return match


def _receivers_are(signal, functions: tuple) -> bool:
    """Whether `signal`'s receivers are exactly `functions`, each once and for any sender.

    In any order: a receiver disconnected and connected again (Django's test client does that with
    `close_old_connections`) comes last, and these receivers touch nothing the others do (the
    connections, the caches, the URLconf of the thread), so their order changes no effect.
    """
    receivers = []
    for lookup_key, reference, is_async in signal.receivers:
        receiver = reference() if isinstance(reference, weakref.ReferenceType) else reference
        if is_async or lookup_key[1] != _NO_SENDER:
            return False
        receivers.append(receiver)
    return len(receivers) == len(functions) and all(
        sum(receiver is function for receiver in receivers) == 1 for function in functions
    )


_NO_SENDER = _make_id(None)


class _DefaultReceiversShortcut:
    """Sends a request signal by calling `fused`, while its receivers are Django's defaults.

    `Signal.send` looks its live receivers up and calls each, and each of Django's walks the
    connections or caches of its own (`connections.all()` asks a thread-critical Local per alias);
    together about 15 % of a floor request (issue 15). `fused` does what those receivers do, in
    Django's order, over one walk. Any other receiver list (a project receiver, the test client or a
    test disconnecting `close_old_connections`) goes through `Signal.send` unchanged: the list is
    compared with the one last checked on every request (a list of 2-3 tuples, identical objects).
    """

    def __init__(self, signal, receivers: tuple, fused):
        self.signal = signal
        self.receivers = receivers
        self.fused = fused
        self._checked = None  # a copy of signal.receivers known to be exactly `receivers`

    def send(self, sender, **named) -> None:
        current = self.signal.receivers
        if current != self._checked:
            if not _receivers_are(self.signal, self.receivers):
                self.signal.send(sender=sender, **named)
                return
            self._checked = list(current)
        self.fused()


def _initialized_connections() -> list:
    """`connections.all(initialized_only=True)`, read from the thread's storage in one look.

    Django's asks asgiref's thread-critical Local twice per alias, and each ask looks for a running
    event loop by catching RuntimeError (about 1 µs an alias). In a sync thread that Local is a plain
    `threading.local` holding alias -> connection, which this reads once; anywhere else (an event loop
    in this thread, or another asgiref layout) Django's own call answers.
    """
    storage = vars(connections._connections).get("_storage")
    if type(storage) is not threading.local or asyncio._get_running_loop() is not None:
        return connections.all(initialized_only=True)
    opened = vars(storage)
    return [opened[alias] for alias in connections.settings if alias in opened]


def _request_started() -> None:
    """`reset_queries` then `close_old_connections` (django.db), over one list of connections."""
    initialized = _initialized_connections()
    for connection in initialized:
        connection.queries_log.clear()
    for connection in initialized:
        connection.close_if_unusable_or_obsolete()


# The CACHES configuration last asked about (by identity: override_settings replaces it), and whether
# any of its backends has a close() that does something. LocMemCache's, and so the throttle
# counters', is BaseCache's no-op.
_caches_that_close: tuple[dict | None, bool] = (None, True)


def _caches_need_closing() -> bool:
    global _caches_that_close
    configured = caches.settings
    known = _caches_that_close
    if known[0] is not configured:
        closes = any(import_string(config["BACKEND"]).close is not BaseCache.close for config in configured.values())
        known = _caches_that_close = (configured, closes)
    return known[1]


def _request_finished() -> None:
    """`close_old_connections`, `close_caches` (a no-op loop when every backend's close() is) and
    `reset_urlconf`: Django's receivers of request_finished, in their order."""
    for connection in _initialized_connections():
        connection.close_if_unusable_or_obsolete()
    if _caches_need_closing():
        caches.close_all()
    reset_urlconf(sender=None)


_started = _DefaultReceiversShortcut(signals.request_started, (reset_queries, close_old_connections), _request_started)
_finished = _DefaultReceiversShortcut(
    signals.request_finished, (close_old_connections, close_caches, reset_urlconf), _request_finished
)


def _close_response(response) -> None:
    """HttpResponseBase.close(), with request_finished sent through `_finished`."""
    del response.close  # the instance attribute set by LmsWSGIHandler: no cycle left behind
    for closer in response._resource_closers:
        try:
            closer()
        except Exception:  # noqa: BLE001, S110 -- as Django's close(): a closer's failure is not the response's
            pass
    response._resource_closers.clear()
    response.closed = True
    _finished.send(sender=response._handler_class)


class LmsWSGIRequest(WSGIRequest):
    """Django's WSGIRequest, with the Host header's check remembered (`lms.api.hosts`)."""

    def get_host(self):
        return checked_host(self, super().get_host)


class LmsWSGIHandler(WSGIHandler):
    """Django's WSGIHandler; `resolve_request` answers known route shapes from `RouteShapeMemo`, the
    request signals go through `_DefaultReceiversShortcut`, and requests are `LmsWSGIRequest`s."""

    request_class = LmsWSGIRequest

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.routes = RouteShapeMemo()

    def __call__(self, environ, start_response):
        # WSGIHandler.__call__ (Django 5.2), but for the two signals.
        set_script_prefix(get_script_name(environ))
        _started.send(sender=self.__class__, environ=environ)
        request = self.request_class(environ)
        response = self.get_response(request)

        response._handler_class = self.__class__
        if type(response).close is HttpResponseBase.close:
            # The server calls close() when it has sent the body (PEP 3333): request_finished then.
            response.close = partial(_close_response, response)

        status = f"{response.status_code} {response.reason_phrase}"
        response_headers = [
            *response.items(),
            *(("Set-Cookie", c.output(header="")) for c in response.cookies.values()),
        ]
        start_response(status, response_headers)
        if getattr(response, "file_to_stream", None) is not None and environ.get("wsgi.file_wrapper"):
            response.file_to_stream.close = response.close
            response = environ["wsgi.file_wrapper"](response.file_to_stream, response.block_size)
        return response

    def resolve_request(self, request):
        if hasattr(request, "urlconf"):  # set by a middleware for this request: Django's own path
            return super().resolve_request(request)
        resolver_match = self.routes.resolve(get_resolver(), request.path_info)
        request.resolver_match = resolver_match
        return resolver_match
