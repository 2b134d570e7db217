"""A small JSON-over-HTTP client for the topology's proofs: http.client straight to loopback (no
proxy from the environment), a new connection per request so that nginx balances each one."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit


class Client:
    def __init__(self, base_url: str, *, headers: dict[str, str], timeout: float = 15):
        parts = urlsplit(base_url)
        self.base_url = base_url
        self.host, self.port = parts.hostname, parts.port
        self.headers = headers
        self.timeout = timeout

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict | None]:
        """(status, parsed JSON or None). Raises OSError / http.client.HTTPException when the
        connection fails (no answer at all)."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            headers = dict(self.headers)
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            raw = response.read()
        finally:
            connection.close()
        try:
            return response.status, json.loads(raw)
        except ValueError:
            return response.status, None

    def get(self, path: str) -> tuple[int, dict | None]:
        return self.request("GET", path)

    def post(self, path: str, body: dict) -> tuple[int, dict | None]:
        return self.request("POST", path, body)

    def put(self, path: str, body: dict) -> tuple[int, dict | None]:
        return self.request("PUT", path, body)
