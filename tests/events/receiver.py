"""A webhook receiver on loopback (ports 18300-18309) that records what it gets and answers as told."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORTS = range(18300, 18310)


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self):
        return json.loads(self.body)


@dataclass
class Receiver:
    """`answers`: status codes for the next requests, in order (then `default_status`); `hold_seconds`:
    how long the next request waits before its answer (once)."""

    answers: list[int] = field(default_factory=list)
    default_status: int = 200
    hold_seconds: float = 0.0
    received: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def start(self, ports: range = PORTS) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.received.append(Received({k.lower(): v for k, v in self.headers.items()}, body, time.time()))
                hold, receiver.hold_seconds = receiver.hold_seconds, 0.0
                if hold:
                    time.sleep(hold)
                status = receiver.answers.pop(0) if receiver.answers else receiver.default_status
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        for port in ports:
            try:
                self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
                break
            except OSError:
                continue
        else:
            raise RuntimeError(f"no free port in {ports.start}-{ports.stop - 1} for the receiver")
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def events(self) -> list[dict]:
        return [request.json() for request in self.received]

    def wait_for(self, predicate, timeout: float = 30.0, what: str = "the receiver's condition") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return
            time.sleep(0.1)
        raise AssertionError(f"{what} did not hold within {timeout}s; received {self.events()}")
