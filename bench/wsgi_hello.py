"""`GET /bench/wsgi-hello`: the server's own ceiling (issue 15).

A bare WSGI callable, served by the same gunicorn configuration as the app (lms/gunicorn.conf.py,
its own process group with the same workers and threads), answering the bytes that one
`GET /bench/drf-hello` answered. The harness captures that body and names its file in
BENCH_WSGI_HELLO_BODY; without it the callable answers an envelope of the same size and shape.
Nothing here imports Django: the ratio drf-hello / wsgi-hello is everything the framework, the
middleware, authentication and the renderer cost.
"""

from __future__ import annotations

import json
import os

_FALLBACK = {
    "id": "api.bench.hello", "ver": "1.0", "ts": "2026-01-01T00:00:00.000000Z",
    "params": {"resmsgid": "00000000-0000-4000-8000-000000000000", "status": "successful", "err": None,
               "errmsg": None},
    "responseCode": 200, "result": {"hello": "world", "service": "lms"},
}


def _body() -> bytes:
    path = os.environ.get("BENCH_WSGI_HELLO_BODY", "")
    if path:
        with open(path, "rb") as handle:
            return handle.read()
    return json.dumps(_FALLBACK, separators=(",", ":")).encode()


BODY = _body()
_HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]
_HEALTH = b'{"status":"ok"}'


def application(environ, start_response):
    # /health is how GunicornProcess knows the workers are up; every other path is the floor.
    if environ.get("PATH_INFO") == "/health":
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(_HEALTH)))])
        return [_HEALTH]
    start_response("200 OK", _HEADERS)
    return [BODY]
