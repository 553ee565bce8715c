"""A real HTTP server speaking the OpenAI chat-completions protocol, for tests.

It records every request body, answers deterministically, and can be told to fail, stall or
send retry-after headers, so tests assert on exactly what a model endpoint would have seen.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Scripted:
    status: int = 200
    body: dict | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    raw: bytes | None = None  # sent as is instead of a JSON body
    content_type: str = "application/json"


class FakeOpenAI:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.script: list[Scripted] = []
        self._lock = threading.Lock()
        self.request_arrived = threading.Event()
        # Optional: picks the answer to each request body when the script is empty.
        self.decide: Callable[[dict], Scripted | None] | None = None
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with fake._lock:
                    fake.requests.append(
                        {"path": self.path, "body": body, "authorization": self.headers.get("authorization")}
                    )
                    step = fake.script.pop(0) if fake.script else None
                    if step is None and fake.decide is not None:
                        step = fake.decide(body)
                    step = step or Scripted()
                fake.request_arrived.set()
                if step.delay:
                    time.sleep(step.delay)
                payload = (
                    step.body
                    if step.body is not None
                    else (
                        fake.completion(body)
                        if step.status == 200
                        else {"error": {"message": f"scripted failure {step.status}", "type": "test"}}
                    )
                )
                data = step.raw if step.raw is not None else json.dumps(payload).encode()
                try:
                    self.send_response(step.status)
                    self.send_header("content-type", step.content_type)
                    self.send_header("content-length", str(len(data)))
                    for key, value in step.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def completion(self, body: dict) -> dict:
        messages = body.get("messages") or [{}]  # a body cut short by a killed client has none
        last = str(messages[-1].get("content", ""))
        reply = f"fake reply {len(self.requests)} to: {last[:200]}"
        return {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": 0,
            "model": body.get("model", "fake-model"),
            "choices": [
                {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": reply}}
            ],
            "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
        }

    def chat_requests(self) -> list[dict]:
        """Bodies of the role's own model calls (summarisation calls left out)."""
        return [
            r["body"] for r in self.requests if "working memory" not in r["body"]["messages"][0]["content"]
        ]

    def start(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
