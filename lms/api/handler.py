"""The WSGI handler the server runs (lms.wsgi): Django's, with resolved literal routes remembered.

Django resolves every request's path from the top of the URLconf: each pattern ahead of the
match is tried, and each level of `include()` builds a ResolverMatch, about 20 µs of a floor
request (issue 15). The URLconf does not change while a process serves, and resolution depends
on the path alone, so the match of a path is the same on every request. This handler keeps the
match of each path that IS its route (no converter, no regular expression: `bench/drf-hello`,
`courses/search`), so the memo is bounded by the URLconf's own literal routes, never by the paths
clients send; every other path (`courses/<uuid>`, the 404 catch-all) resolves as before.
"""

from __future__ import annotations

from django.core.handlers.wsgi import WSGIHandler
from django.urls import ResolverMatch, get_resolver


def _fresh_copy(match: ResolverMatch) -> ResolverMatch:
    # A view may change the kwargs it is given; no request sees another's. (ResolverMatch refuses
    # copy.copy, which goes through pickling.)
    copy = ResolverMatch.__new__(ResolverMatch)
    copy.__dict__.update(match.__dict__)
    copy.kwargs = dict(match.kwargs)
    return copy


class LiteralRouteMemo:
    """path -> the ResolverMatch Django's resolver gave it, for paths equal to their matched route."""

    def __init__(self) -> None:
        self._resolver = None
        self._matches: dict[str, ResolverMatch] = {}

    def resolve(self, resolver, path: str) -> ResolverMatch:
        if resolver is not self._resolver:
            # Another URLconf (tests override ROOT_URLCONF; Django then builds a new resolver).
            self._resolver, self._matches = resolver, {}
        matches = self._matches
        remembered = matches.get(path)
        if remembered is not None:
            return _fresh_copy(remembered)
        match = resolver.resolve(path)
        if match.route == path[1:] and not match.args and not match.captured_kwargs:
            matches[path] = _fresh_copy(match)
        return match


class LmsWSGIHandler(WSGIHandler):
    """Django's WSGIHandler; `resolve_request` answers literal routes from `LiteralRouteMemo`."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.literal_routes = LiteralRouteMemo()

    def resolve_request(self, request):
        if hasattr(request, "urlconf"):  # set by a middleware for this request: Django's own path
            return super().resolve_request(request)
        resolver_match = self.literal_routes.resolve(get_resolver(), request.path_info)
        request.resolver_match = resolver_match
        return resolver_match
