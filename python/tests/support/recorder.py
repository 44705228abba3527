"""A real local HTTP server (``http.server`` in a thread) that answers from a script and
records every request it saw: method, path, headers and body bytes. The clients under test
talk to it over TCP exactly as to the Worker; nothing in the client is mocked. With an
``upstream`` it can also relay a request to the real Worker and then lose the answer, the
way a timeout or a reset connection does."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

DROP = "drop"  # an answer that closes the connection without a response
RELAY = "relay"  # relays the request to the upstream and returns its answer
RELAY_DROP = "relay-drop"  # relays the request, then closes the connection without answering


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def payload(self) -> bytes:
        if self.body is None:
            return b""
        return self.body.encode() if isinstance(self.body, str) else json.dumps(self.body).encode()


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Recorder:
    """Answers the n-th request with ``script[n]`` (the last one once the script runs out)."""

    def __init__(self, *script: Answer | str, upstream: str | None = None) -> None:
        if not script:
            raise ValueError("give at least one answer")
        self.script = list(script)
        self.upstream = upstream
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def keys(self) -> list[str | None]:
        """The ``Idempotency-Key`` of each request seen, in order."""
        return [r.headers.get("idempotency-key") for r in self.requests]

    def __enter__(self) -> Recorder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next(self, seen: Seen) -> Answer | str:
        with self._lock:
            self.requests.append(seen)
            return self.script[min(len(self.requests), len(self.script)) - 1]

    def _relay(self, seen: Seen) -> Answer:
        assert self.upstream, "RELAY needs an upstream"
        headers = {k: v for k, v in seen.headers.items() if k not in ("host", "content-length", "connection")}
        r = httpx.request(seen.method, self.upstream + seen.path, headers=headers, content=seen.body, timeout=30)
        return Answer(r.status_code, r.text)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                seen = Seen(self.command, self.path, headers, body)
                answer = recorder._next(seen)
                if answer in (RELAY, RELAY_DROP):
                    relayed = recorder._relay(seen)
                    answer = DROP if answer == RELAY_DROP else relayed
                if answer == DROP:
                    self.close_connection = True
                    return
                assert isinstance(answer, Answer)
                payload = answer.payload()
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for k, v in answer.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        return Handler
