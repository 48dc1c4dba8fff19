"""A local OpenAI-compatible server on 127.0.0.1 for testing real provider paths and faults."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Responder = Callable[[list[dict[str, Any]]], str]


TokenCounter = Callable[[list[dict[str, Any]]], int]


class StubState:
    def __init__(self, responder: Responder, fail_first: int = 0, prompt_tokens: TokenCounter | None = None) -> None:
        self.responder = responder
        self.fail_first = fail_first
        self.prompt_tokens = prompt_tokens
        self.requests = 0
        self.bodies: list[dict[str, Any]] = []
        self.lock = threading.Lock()


@contextmanager
def openai_stub(
    responder: Responder, fail_first: int = 0, prompt_tokens: TokenCounter | None = None
) -> Iterator[tuple[str, StubState]]:
    """Serve /v1/chat/completions; the first `fail_first` requests get HTTP 500.

    Every request body is kept in `state.bodies`; `prompt_tokens` counts a request's input tokens
    for the reported usage (default: 20 each).
    """
    state = StubState(responder, fail_first, prompt_tokens)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with state.lock:
                state.requests += 1
                state.bodies.append(body)
                failing = state.requests <= state.fail_first
            if failing:
                self._send(500, {"error": {"message": "stub: injected failure", "type": "server_error"}})
                return
            text = state.responder(body["messages"])
            prompt = state.prompt_tokens(body["messages"]) if state.prompt_tokens else 20
            self._send(200, {
                "id": f"chatcmpl-{state.requests}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body["model"],
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": prompt, "completion_tokens": 7, "total_tokens": prompt + 7},
            })

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", state
    finally:
        server.shutdown()
        server.server_close()
