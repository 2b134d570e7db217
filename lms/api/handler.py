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

import re

from django.core.handlers.wsgi import WSGIHandler
from django.urls import ResolverMatch, get_resolver
from django.urls.converters import SlugConverter, StringConverter, UUIDConverter
from django.urls.resolvers import RoutePattern

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


class LmsWSGIHandler(WSGIHandler):
    """Django's WSGIHandler; `resolve_request` answers known route shapes from `RouteShapeMemo`."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.routes = RouteShapeMemo()

    def resolve_request(self, request):
        if hasattr(request, "urlconf"):  # set by a middleware for this request: Django's own path
            return super().resolve_request(request)
        resolver_match = self.routes.resolve(get_resolver(), request.path_info)
        request.resolver_match = resolver_match
        return resolver_match
