"""`roleteam codec-server`: the Temporal remote codec endpoint for encrypted payloads.

POST `/encode` and `/decode` take and return `{"payloads": [...]}` (Temporal's Payloads in proto
JSON), so the Temporal Web UI (Settings → Codec Server) and `temporal … --codec-endpoint URL` show
decrypted payloads. Browsers from the allowed origins (the dev server's UI by default) get the
CORS headers they need. Requests and keys are never logged.
"""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from roleteam.codec import AesGcmCodec

DEFAULT_ORIGINS = ("http://localhost:8233", "http://127.0.0.1:8233")
MAX_BODY_BYTES = 16 * 1024 * 1024  # a batch of history payloads; each is at most 2 MB
ALLOWED_HEADERS = "content-type,x-namespace,authorization"

log = logging.getLogger("roleteam.codec_server")


class CodecServer:
    """A threaded HTTP server around one codec; `start()` runs it in the background."""

    def __init__(
        self,
        codec: AesGcmCodec,
        host: str = "127.0.0.1",
        port: int = 8081,
        origins: tuple[str, ...] = DEFAULT_ORIGINS,
    ) -> None:
        self.codec = codec
        self.origins = frozenset(o.rstrip("/") for o in origins)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_OPTIONS(self) -> None:  # noqa: N802 (http.server's naming)
                self._reply(204, b"")

            def do_POST(self) -> None:  # noqa: N802
                action = self.path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
                if action not in ("encode", "decode"):
                    self._error(404, "use POST /encode or /decode")
                    return
                try:
                    length = int(self.headers.get("content-length", "0"))
                except ValueError:
                    length = -1
                if not 0 <= length <= MAX_BODY_BYTES:
                    self._error(413, f"body must be 0-{MAX_BODY_BYTES} bytes with a content-length")
                    return
                body = self.rfile.read(length)
                try:
                    payloads = json_format.Parse(body or b"{}", Payloads(), ignore_unknown_fields=True)
                except (json_format.ParseError, ValueError, UnicodeDecodeError):
                    self._error(400, 'body must be JSON {"payloads": [...]} (Temporal Payloads)')
                    return
                try:
                    if action == "encode":
                        out = server.codec.encrypt(payloads.payloads)
                    else:
                        out = server.codec.decrypt(payloads.payloads)
                except ValueError as err:
                    self._error(400, str(err))
                    return
                data = json_format.MessageToJson(Payloads(payloads=out)).encode()
                self._reply(200, data, "application/json")

            def _error(self, status: int, message: str) -> None:
                self._reply(status, message.encode(), "text/plain; charset=utf-8")

            def _reply(self, status: int, data: bytes, content_type: str | None = None) -> None:
                self.send_response(status)
                origin = (self.headers.get("origin") or "").rstrip("/")
                if origin in server.origins:
                    self.send_header("access-control-allow-origin", origin)
                    self.send_header("access-control-allow-methods", "POST, OPTIONS")
                    self.send_header("access-control-allow-headers", ALLOWED_HEADERS)
                    self.send_header("access-control-allow-credentials", "true")
                    self.send_header("vary", "origin")
                if content_type:
                    self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args) -> None:
                log.debug("%s %s", self.command, self.path.split("?", 1)[0])

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> CodecServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
