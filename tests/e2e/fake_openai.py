"""A fake OpenAI-compatible server for the instrumentation-library tests (not a real peer: a
scripted stand-in the real `openai` client talks to).

What it answers is decided by the request, so a driver script can ask for exact usage:
the last user message may hold `usage: in=1200 out=300 cached=1000 reasoning=64` and
`fail: 429` (or any status). Every answer is recorded; `GET /_calls` lists them, so a test
compares what seedwatch counted with what the server really answered, call by call.

Routes: `POST /v1/chat/completions` (plain, streaming with `stream_options.include_usage`,
tool calls when the request offers tools and has no tool result yet), `POST /v1/embeddings`,
`POST /v1/responses` (the Responses API, plain only).
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# The dated model a request for each model is answered by, as OpenAI does.
DATED = {"gpt-4o": "gpt-4o-2024-08-06", "gpt-4o-mini": "gpt-4o-mini-2024-07-18", "o3-mini": "o3-mini-2025-01-31"}

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    429: "rate_limit_exceeded",
    500: "server_error",
    503: "server_error",
}


def _directives(text: str) -> tuple[dict[str, int], int | None]:
    usage = {}
    m = re.search(r"usage:((?:\s+\w+=\d+)+)", text)
    if m:
        for part in m.group(1).split():
            k, v = part.split("=")
            usage[k] = int(v)
    fail = re.search(r"fail:\s*(\d{3})", text)
    return usage, int(fail.group(1)) if fail else None


def _reply(h, status: int, payload: bytes, content_type: str = "application/json", headers: dict | None = None):
    """Writes one whole answer on the handler `h`."""
    h.send_response(status)
    h.send_header("content-type", content_type)
    h.send_header("content-length", str(len(payload)))
    for name, value in (headers or {}).items():
        h.send_header(name, value)
    h.end_headers()
    h.wfile.write(payload)


def _counts(usage: dict[str, int]) -> tuple[int, int, int, int]:
    """Input, output, cached and reasoning tokens asked for, with defaults."""
    return usage.get("in", 20), usage.get("out", 5), usage.get("cached", 0), usage.get("reasoning", 0)


def _text_of(content) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


class FakeOpenAI:
    """The server; `start()` binds a free loopback port; `calls` is what it answered."""

    def __init__(self, port: int):
        self.port = port
        self.calls: list[dict] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                if self.path == "/_calls":
                    with server.lock:
                        body = json.dumps(server.calls).encode()
                    self._send(200, body)
                else:
                    self._send(404, b"{}")

            def do_POST(self):
                length = int(self.headers.get("content-length") or 0)
                request = json.loads(self.rfile.read(length) or b"{}")
                route = self.path.split("?")[0].removeprefix("/v1")
                if route == "/chat/completions":
                    server.chat(self, request)
                elif route == "/embeddings":
                    server.embeddings(self, request)
                elif route == "/responses":
                    server.responses(self, request)
                else:
                    self._send(404, json.dumps({"error": {"message": f"no route {self.path}"}}).encode())

            def _send(self, status: int, body: bytes):
                _reply(self, status, body)

        self.handler = Handler
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> "FakeOpenAI":
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def record(self, **call):
        with self.lock:
            self.calls.append(call)

    def fail(self, h, status: int, model: str, kind: str):
        body = {
            "error": {
                "message": f"scripted failure {status}",
                "type": ERROR_TYPES.get(status, "server_error"),
                "code": ERROR_TYPES.get(status),
            }
        }
        self.record(kind=kind, model=model, status=status)
        _reply(h, status, json.dumps(body).encode(), headers={"retry-after": "0"} if status == 429 else None)

    def chat(self, h, request: dict):
        model = request.get("model", "")
        messages = request.get("messages", [])
        last_user = next((m for m in reversed(messages) if m.get("role") == "user"), {})
        usage, fail = _directives(_text_of(last_user.get("content")))
        if fail:
            return self.fail(h, fail, model, "chat")
        answered_by = DATED.get(model, model)
        tools = request.get("tools") or []
        has_tool_result = any(m.get("role") == "tool" for m in messages)
        tool_call = None
        if tools and not has_tool_result:
            name = tools[0]["function"]["name"]
            tool_call = {"id": "call_1", "type": "function", "function": {"name": name, "arguments": "{}"}}
        u_in, u_out, cached, reasoning = _counts(usage)
        body_usage = {
            "prompt_tokens": u_in,
            "completion_tokens": u_out,
            "total_tokens": u_in + u_out,
            "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": reasoning, "audio_tokens": 0},
        }
        message = {"role": "assistant", "content": None if tool_call else "Done.", "refusal": None}
        if tool_call:
            message["tool_calls"] = [tool_call]
        self.record(
            kind="chat",
            model=model,
            answered_by=answered_by,
            status=200,
            stream=bool(request.get("stream")),
            input=u_in,
            output=u_out,
            cached=cached,
            reasoning=reasoning,
            tool_call=tool_call["function"]["name"] if tool_call else None,
        )
        created = int(time.time())
        if not request.get("stream"):
            body = {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": created,
                "model": answered_by,
                "system_fingerprint": "fp_fake",
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "logprobs": None,
                        "finish_reason": "tool_calls" if tool_call else "stop",
                    }
                ],
                "usage": body_usage,
            }
            _reply(h, 200, json.dumps(body).encode())
            return
        include_usage = bool((request.get("stream_options") or {}).get("include_usage"))
        chunks = []
        base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": created, "model": answered_by}
        if tool_call:
            delta = {"role": "assistant", "tool_calls": [{"index": 0, **tool_call}]}
            chunks.append({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
            chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
        else:
            chunks.append(
                {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Do"}, "finish_reason": None}]}
            )
            chunks.append({**base, "choices": [{"index": 0, "delta": {"content": "ne."}, "finish_reason": None}]})
            chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        if include_usage:
            chunks.append({**base, "choices": [], "usage": body_usage})
        payload = b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in chunks) + b"data: [DONE]\n\n"
        _reply(h, 200, payload, "text/event-stream")

    def embeddings(self, h, request: dict):
        model = request.get("model", "")
        text = request.get("input")
        text = " ".join(text) if isinstance(text, list) else str(text)
        usage, fail = _directives(text)
        if fail:
            return self.fail(h, fail, model, "embeddings")
        u_in = usage.get("in", 8)
        self.record(kind="embeddings", model=model, answered_by=model, status=200, input=u_in, output=0,
                    cached=0, reasoning=0, stream=False, tool_call=None)
        body = {
            "object": "list",
            "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2, 0.3]}],
            "model": model,
            "usage": {"prompt_tokens": u_in, "total_tokens": u_in},
        }
        _reply(h, 200, json.dumps(body).encode())

    def responses(self, h, request: dict):
        model = request.get("model", "")
        text = request.get("input")
        if isinstance(text, list):
            text = " ".join(_text_of(m.get("content")) for m in text if isinstance(m, dict))
        usage, fail = _directives(str(text))
        if fail:
            return self.fail(h, fail, model, "responses")
        answered_by = DATED.get(model, model)
        u_in, u_out, cached, reasoning = _counts(usage)
        self.record(kind="responses", model=model, answered_by=answered_by, status=200, input=u_in, output=u_out,
                    cached=cached, reasoning=reasoning, stream=False, tool_call=None)
        body = {
            "id": "resp_fake",
            "object": "response",
            "created_at": int(time.time()),
            "status": "completed",
            "model": answered_by,
            "output": [
                {
                    "type": "message",
                    "id": "msg_fake",
                    "status": "completed",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": "Done.", "annotations": []}],
                }
            ],
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
            "usage": {
                "input_tokens": u_in,
                "input_tokens_details": {"cached_tokens": cached},
                "output_tokens": u_out,
                "output_tokens_details": {"reasoning_tokens": reasoning},
                "total_tokens": u_in + u_out,
            },
        }
        _reply(h, 200, json.dumps(body).encode())


if __name__ == "__main__":
    import sys

    server = FakeOpenAI(int(sys.argv[1]) if len(sys.argv) > 1 else 0).start()
    print(server.url, flush=True)
    threading.Event().wait()
