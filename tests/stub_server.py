"""A local OpenAI-compatible server on 127.0.0.1 for testing real provider paths and faults.

Faults are injected per request by `faults(n, messages)` (n counts requests from 1), which names one of
FAULTS or returns None for a normal answer; `fail_first` is the old shorthand for HTTP 500s.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Responder = Callable[[list[dict[str, Any]]], str]
Fault = Literal["500", "429", "400", "truncated", "malformed", "reset", "slow"]
FaultPlan = Callable[[int, list[dict[str, Any]]], "Fault | None"]  # (request number, messages) -> fault
FAULTS: tuple[Fault, ...] = ("500", "429", "400", "truncated", "malformed", "reset", "slow")


TokenCounter = Callable[[list[dict[str, Any]]], int]


class StubState:
    def __init__(
        self, responder: Responder, fail_first: int = 0, faults: FaultPlan | None = None, prompt_tokens: TokenCounter | None = None
    ) -> None:
        self.responder = responder
        self.fail_first = fail_first
        self.faults = faults
        self.prompt_tokens = prompt_tokens
        self.requests = 0
        self.answered = 0
        self.bodies: list[dict[str, Any]] = []
        self.injected: dict[str, int] = {}
        self.down = False  # every request gets HTTP 503 while set
        self.slow_seconds = 5.0
        self.latency = 0.0
        self.lock = threading.Lock()


def _completion(body: dict[str, Any], text: str, number: int, prompt_tokens: int = 20) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{number}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body["model"],
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": 7, "total_tokens": prompt_tokens + 7},
    }


class _QuietServer(ThreadingHTTPServer):
    """A client that hangs up before its request line is read (a stopped build) is not an error to print."""

    def handle_error(self, request, client_address):  # type: ignore[no-untyped-def]
        import sys

        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


@contextmanager
def openai_stub(
    responder: Responder,
    fail_first: int = 0,
    faults: FaultPlan | None = None,
    latency: float = 0.0,
    prompt_tokens: TokenCounter | None = None,
) -> Iterator[tuple[str, StubState]]:
    """Serve /v1/chat/completions on a free loopback port; yields (base_url, state).

    The first `fail_first` requests get HTTP 500; `faults` injects others. Every request body is
    kept in `state.bodies`; `prompt_tokens` counts a request's input tokens for the reported usage
    (default: 20 each).
    """
    state = StubState(responder, fail_first, faults, prompt_tokens)
    state.latency = latency

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real providers do

        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with state.lock:
                state.requests += 1
                state.bodies.append(body)
                number = state.requests
                fault: str | None = "500" if number <= state.fail_first else None
                if fault is None and state.down:
                    fault = "503"
                if fault is None and state.faults is not None:
                    fault = state.faults(number, body["messages"])
                if fault is not None:
                    state.injected[fault] = state.injected.get(fault, 0) + 1
            if state.latency:
                time.sleep(state.latency)
            if fault in ("500", "503"):
                self._send(int(fault), json.dumps({"error": {"message": "stub: injected failure", "type": "server_error"}}))
                return
            if fault == "400":  # the provider refuses this one request (a content filter, a bad parameter)
                self._send(400, json.dumps({"error": {"message": "stub: request refused", "type": "invalid_request_error"}}))
                return
            if fault == "429":
                self._send(429, json.dumps({"error": {"message": "stub: rate limited", "type": "rate_limit_error"}}))
                return
            if fault == "reset":  # close the socket with RST, no response
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
                self.close_connection = True
                return
            if fault == "slow":
                time.sleep(state.slow_seconds)
            prompt = state.prompt_tokens(body["messages"]) if state.prompt_tokens else 20
            payload = json.dumps(_completion(body, state.responder(body["messages"]), number, prompt))
            if fault == "truncated":  # a 200 whose body stops half way (Content-Length matches what is sent)
                payload = payload[: len(payload) // 2]
            elif fault == "malformed":  # valid JSON, not a completion
                payload = json.dumps({"id": f"chatcmpl-{number}", "object": "chat.completion", "model": body["model"]})
            else:
                with state.lock:
                    state.answered += 1
            self._send(200, payload)

        def _send(self, status: int, payload: str) -> None:
            data = payload.encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (a stopped build): nothing to say
                self.close_connection = True

    server = _QuietServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", state
    finally:
        server.shutdown()
        server.server_close()
