"""Content negotiation with a fast path for what almost every client sends (issue 15).

DRF's negotiation builds `request.headers` and parses each Accept token into media-type objects
on every request, about 70 µs, to conclude what the common case always concludes: the first
renderer, JSON. Requests that send no Accept header, `*/*` or `application/json` get that answer
directly; any other Accept value, a format suffix or a format query parameter goes through
DRF's negotiation unchanged (406 included).
"""

from __future__ import annotations

from rest_framework.negotiation import DefaultContentNegotiation

# Accept values whose answer is the first renderer when that renderer is plain JSON. For
# `*/*` DRF returns the renderer's own media type; for `application/json` the accepted one:
# both are "application/json".
_FAST_ACCEPT_VALUES = frozenset({"*/*", "application/json"})
_JSON = "application/json"


class FastContentNegotiation(DefaultContentNegotiation):
    """DRF's DefaultContentNegotiation, answering the common Accept values without parsing."""

    def select_renderer(self, request, renderers, format_suffix=None):
        if not format_suffix and renderers and renderers[0].media_type == _JSON:
            accept = request.META.get("HTTP_ACCEPT")
            if (accept is None or accept.strip() in _FAST_ACCEPT_VALUES) and not self._format_requested(request):
                return renderers[0], _JSON
        return super().select_renderer(request, renderers, format_suffix)

    def _format_requested(self, request) -> bool:
        parameter = self.settings.URL_FORMAT_OVERRIDE
        if not parameter or not request.META.get("QUERY_STRING"):
            return False
        return bool(request.query_params.get(parameter))


class _FormatIsNotARendererSwitch:
    URL_FORMAT_OVERRIDE = None


class ApiContentNegotiation(FastContentNegotiation):
    """API views always answer JSON: `?format=` is a filter on some lists (lesson format), and an
    unknown value must not turn into DRF's 404 for an unknown renderer."""

    settings = _FormatIsNotARendererSwitch
