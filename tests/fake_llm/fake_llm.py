#!/usr/bin/env python3
"""Fake LLM server for the mlopsctl test suite (a test peer; never shipped).

Speaks enough of the OpenAI Chat Completions, Anthropic Messages and Ollama /api/chat
wire formats, plus a generic JSON endpoint and a webhook sink, for the C++ tests to
drive mlopsctl's LLM clients against 127.0.0.1.  Answers are deterministic, and faults
(errors, latency, hangs, dropped connections, garbage bodies, rate limits) are chosen
per request by directives carried in the model name, e.g.
``gpt-4o-mini+fail=429x2+retry_after=1``.

README.md next to this file is the contract the tests rely on; keep the two in step.
Python 3 standard library only.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import functools
import hashlib
import ipaddress
import json
import re
import select
import signal
import socket
import socketserver
import sys
import threading
import time
import traceback
import uuid
from datetime import datetime, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote

# ---------------------------------------------------------------------------
# Deterministic answers and the fake tokenizer

_WORD = re.compile(r"\S+")
REPLY_PREFIX = "@reply "


def count_tokens(text: str) -> int:
    """The fake tokenizer: whitespace-separated words, never fewer than 1."""
    return max(1, len(text.split()))


def truncate_tokens(text: str, limit: int | None) -> tuple[str, bool]:
    """Keep the first `limit` words of `text` (whitespace between them is kept as is).

    Returns (text, truncated).  `limit` None means no limit.
    """
    if limit is None:
        return text, False
    ends = [m.end() for m in _WORD.finditer(text)]
    if len(ends) <= limit:
        return text, False
    return (text[: ends[limit - 1]] if limit > 0 else ""), True


def compute_answer(user_text: str) -> str:
    """The first `@reply ` line of the user text wins; otherwise echo the text."""
    for line in user_text.split("\n"):
        line = line.rstrip("\r")
        if line.startswith(REPLY_PREFIX):
            return line[len(REPLY_PREFIX):]
    return "echo: " + user_text


def graded_answer(user_text: str, base: str, d: "Directives") -> str:
    """With accuracy=P, an `@reply ` answer comes back exactly with probability P and as
    "wrong: " + ANSWER otherwise. The draw is a pure function of the seed, the base
    model name and the user text, so it repeats across runs and machines and two models
    draw independently: u = int(sha256(f"{seed}:{base}:{user_text}")[:16], 16) / 2**64,
    right when u < P."""
    answer = compute_answer(user_text)
    if d.accuracy is None or not any(
            line.rstrip("\r").startswith(REPLY_PREFIX) for line in user_text.split("\n")):
        return answer
    digest = hashlib.sha256(f"{d.seed}:{base}:{user_text}".encode()).hexdigest()
    u = int(digest[:16], 16) / 2.0**64
    return answer if u < d.accuracy else "wrong: " + answer


def content_text(content) -> str:
    """Text of a message content: a plain string, or a list of content blocks/parts
    (OpenAI parts and Anthropic blocks alike) whose text blocks are joined with "\\n".
    Non-text blocks (images, tool calls...) contribute nothing."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif (isinstance(block, dict) and block.get("type", "text") == "text"
                  and isinstance(block.get("text"), str)):
                parts.append(block["text"])
        return "\n".join(parts)
    return ""


def conversation(messages, system_texts=()) -> tuple[str, str]:
    """Returns (prompt text, last user message text) for a chat message list.

    The prompt text is every content (system first) joined with "\\n"."""
    texts = list(system_texts)
    user_text = ""
    for message in messages if isinstance(messages, list) else ():
        if not isinstance(message, dict):
            continue
        text = content_text(message.get("content"))
        texts.append(text)
        if message.get("role") == "user":
            user_text = text
    return "\n".join(texts), user_text


EMBED_DIMENSIONS = 128
_EMBED_WORD = re.compile(r"[a-z0-9]+")


def embed_vector(text: str, dimensions: int = EMBED_DIMENSIONS) -> list:
    """A deterministic bag-of-words embedding: each lower-cased word [a-z0-9]+ adds
    +1 or -1 at a position chosen by its SHA-256 (the "hashing trick"), then the
    vector is scaled to unit length.  Texts sharing words score a higher cosine
    similarity; word order does not matter.  A text without words is the first unit
    vector.  Components are rounded to 6 decimals."""
    vector = [0.0] * dimensions
    for word in _EMBED_WORD.findall(text.lower()):
        digest = hashlib.sha256(word.encode("utf-8")).digest()
        index = int.from_bytes(digest[:4], "big") % dimensions
        vector[index] += 1.0 if digest[4] & 1 else -1.0
    norm = sum(x * x for x in vector) ** 0.5
    if norm == 0:
        vector[0], norm = 1.0, 1.0
    return [round(x / norm, 6) for x in vector]


# ---------------------------------------------------------------------------
# Directives carried in the model name: "base+key=value+flag..."

class DirectiveError(ValueError):
    pass


@dataclasses.dataclass(frozen=True)
class Directives:
    latency_ms: float = 0
    hang_ms: float = 0
    fail_status: int | None = None
    fail_times: int | None = None      # None: every request fails
    retry_after: str | None = None     # header values are sent exactly as written
    retry_after_ms: str | None = None
    garbage: bool = False
    garbage_ok_json: bool = False
    drop: bool = False
    drop_times: int | None = None      # None: every request is dropped
    auth: bool = False
    cached: int = 0
    cache_write: int = 0
    limit: int | None = None
    stream_slow_ms: float = 0
    accuracy: float | None = None      # probability that an @reply answer comes back right
    seed: int = 0


NO_DIRECTIVES = Directives()
_FLAGS = ("garbage", "garbage_ok_json", "auth")
_FAIL_RE = re.compile(r"([1-5][0-9][0-9])(?:x([0-9]+))?")
_DROP_RE = re.compile(r"drop(?:x([0-9]+))?")
_NUMBER_RE = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_COUNT_RE = re.compile(r"[0-9]+")


def _number(token: str, value: str) -> str:
    if not _NUMBER_RE.fullmatch(value):
        raise DirectiveError(f"directive {token!r}: expected a non-negative number")
    return value


def _count(token: str, value: str, minimum: int) -> int:
    if not _COUNT_RE.fullmatch(value) or int(value) < minimum:
        raise DirectiveError(f"directive {token!r}: expected an integer >= {minimum}")
    return int(value)


@functools.lru_cache(maxsize=4096)
def parse_model(model: str) -> tuple[str, Directives]:
    """Split "base+d1+d2" into the base model name and its parsed directives.

    Raises DirectiveError on an unknown or malformed directive, so a typo in a test
    shows up as a 400 instead of silently doing nothing."""
    base, *tokens = model.split("+")
    fields: dict = {}
    for token in tokens:
        key, eq, value = token.partition("=")
        if not eq:
            drop = _DROP_RE.fullmatch(token)
            if token in _FLAGS:
                fields[token] = True
            elif drop:
                fields["drop"] = True
                fields["drop_times"] = int(drop[1]) if drop[1] is not None else None
            else:
                raise DirectiveError(f"unknown directive {token!r}")
        elif key == "fail":
            fail = _FAIL_RE.fullmatch(value)
            if not fail:
                raise DirectiveError(f"directive {token!r}: expected fail=CODE or fail=CODExN")
            fields["fail_status"] = int(fail[1])
            fields["fail_times"] = int(fail[2]) if fail[2] is not None else None
        elif key in ("latency", "hang", "stream_slow"):
            fields[key + "_ms"] = float(_number(token, value))
        elif key in ("retry_after", "retry_after_ms"):
            fields[key] = _number(token, value)
        elif key in ("cached", "cache_write"):
            fields[key] = _count(token, value, 0)
        elif key == "limit":
            fields["limit"] = _count(token, value, 1)
        elif key == "accuracy":
            accuracy = float(_number(token, value))
            if accuracy > 1:
                raise DirectiveError(f"directive {token!r}: expected a probability between 0 and 1")
            fields["accuracy"] = accuracy
        elif key == "seed":
            fields["seed"] = _count(token, value, 0)
        else:
            raise DirectiveError(f"unknown directive {token!r}")
    return base, Directives(**fields)


def parse_directive_query(query: str) -> str | None:
    """The raw `directives=` value of a query string (used by /webhook/...).

    Read by hand rather than with parse_qs because '+' separates directives and
    must not be decoded to a space."""
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        if key == "directives":
            return unquote(value)
    return None


# ---------------------------------------------------------------------------
# Shared state: recorded requests, counters, statistics

class State:
    def __init__(self, max_records: int):
        self._lock = threading.Lock()
        self._max_records = max_records
        self._inflight = 0
        self._generation = 0  # bumped by reset(); lets stale work skip new counters
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._generation += 1
            self._records: collections.deque = collections.deque(maxlen=self._max_records)
            self._seq = 0
            self._fault_counts: dict = {}
            self._total = 0
            self._by_path: collections.Counter = collections.Counter()
            self._by_status: collections.Counter = collections.Counter()
            self._connections = 0
            self._connections_total = 0
            self._peak_inflight = self._inflight

    def connection_opened(self) -> None:
        with self._lock:
            self._connections_total += 1

    def begin(self, handler: "Handler", record: dict) -> tuple[int, int]:
        """Record an arriving (non-control) request.

        Returns (requests in flight including this one, generation)."""
        with self._lock:
            self._seq += 1
            record["seq"] = self._seq
            self._records.append(record)
            self._total += 1
            self._by_path[record["path"]] += 1
            # "connections" counts connections that carried at least one recorded
            # request since the last reset, so control traffic does not inflate it.
            if handler.counted_generation != self._generation:
                handler.counted_generation = self._generation
                self._connections += 1
            self._inflight += 1
            self._peak_inflight = max(self._peak_inflight, self._inflight)
            return self._inflight, self._generation

    def finish(self, record: dict, generation: int, status: int | None) -> None:
        with self._lock:
            record["status"] = status
            self._inflight -= 1
            if generation == self._generation:
                self._by_status["dropped" if status is None else str(status)] += 1

    def take_fault(self, kind: str, key: str, times: int | None) -> bool:
        """True if this request should suffer fault `kind`: always when `times` is
        None, else for the first `times` requests carrying `key`."""
        if times is None:
            return True
        with self._lock:
            used = self._fault_counts.get((kind, key), 0)
            if used >= times:
                return False
            self._fault_counts[(kind, key)] = used + 1
            return True

    def records(self, path_prefix: str = "") -> list:
        with self._lock:
            return [dict(r) for r in self._records if r["path"].startswith(path_prefix)]

    def stats(self) -> dict:
        with self._lock:
            return {
                "requests": self._total,
                "by_path": dict(self._by_path),
                "by_status": dict(self._by_status),
                "connections": self._connections,
                "connections_total": self._connections_total,
                "inflight": self._inflight,
                "peak_inflight": self._peak_inflight,
            }


# ---------------------------------------------------------------------------
# Providers: request validation, error bodies and success bodies per wire format

class BadRequest(Exception):
    """A request the real API would refuse; carries status, message and param."""

    def __init__(self, status: int, message: str, param: str | None = None):
        super().__init__(message)
        self.status, self.message, self.param = status, message, param


def _int_field(body: dict, name: str, container=None):
    """An optional integer field (booleans are not integers here)."""
    value = (container if container is not None else body).get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(400, f"{name}: expected an integer", name)
    return value


@dataclasses.dataclass
class Reply:
    """Everything a provider needs to write a successful answer."""
    model: str             # the base model name (directives stripped)
    directives: Directives
    answer: str
    truncated: bool
    prompt_tokens: int
    completion_tokens: int
    body: dict
    started: float         # time.monotonic() when the request arrived


class Provider:
    """One wire format: request validation, prompt extraction, error and success bodies."""
    content_type = "application/json"
    garbage = b'{"unexpected": ['
    auth_message = "invalid API key (fake_llm auth directive)"

    def validate(self, headers, body: dict) -> None:
        """Raise BadRequest for requests the real API would refuse."""

    def extract(self, body: dict) -> tuple[str, str, int | None]:
        """Returns (prompt text, last user message text, max tokens or None)."""
        raise NotImplementedError

    def error_body(self, status: int, message: str, param: str | None = None) -> dict:
        raise NotImplementedError

    def respond(self, handler: "Handler", reply: Reply) -> int | None:
        """Write the success response; returns the status sent (None if the client left)."""
        raise NotImplementedError


class OpenAIProvider(Provider):
    content_type = "application/json; charset=utf-8"
    garbage = b'{"id": "chatcmpl-garbage", "object": "chat.completion", "choices": ['
    auth_message = ("Incorrect API key provided. You can find your API key at "
                    "https://platform.openai.com/account/api-keys. (fake_llm auth directive)")

    # status -> (error.type, error.code); other 4xx/5xx fall back by class.
    _ERRORS = {
        400: ("invalid_request_error", None),
        401: ("invalid_request_error", "invalid_api_key"),
        403: ("invalid_request_error", "unsupported_country_region_territory"),
        404: ("invalid_request_error", "model_not_found"),
        429: ("requests", "rate_limit_exceeded"),
        500: ("server_error", None),
        503: ("service_unavailable_error", "server_is_overloaded"),
    }

    def validate(self, headers, body):
        if not isinstance(body.get("model"), str):
            raise BadRequest(400, "you must provide a model parameter", "model")
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            raise BadRequest(400, "messages: expected a non-empty array", "messages")

    def extract(self, body):
        prompt, user = conversation(body["messages"])
        limit = _int_field(body, "max_completion_tokens")
        if limit is None:
            limit = _int_field(body, "max_tokens")
        return prompt, user, limit

    def error_body(self, status, message, param=None):
        kind, code = self._ERRORS.get(
            status, ("server_error" if status >= 500 else "invalid_request_error", None))
        return {"error": {"message": message, "type": kind, "param": param, "code": code}}

    def respond(self, handler, reply):
        usage = {
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": reply.completion_tokens,
            "total_tokens": reply.prompt_tokens + reply.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": reply.directives.cached},
        }
        body = {
            "id": "chatcmpl-" + uuid.uuid4().hex[:24],
            "object": "chat.completion",
            "created": int(time.time()),
            "model": reply.model,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": reply.answer},
                "logprobs": None,
                "finish_reason": "length" if reply.truncated else "stop",
            }],
            "usage": usage,
        }
        return handler.send_json(200, body, self.content_type,
                                 [("x-request-id", "req_" + uuid.uuid4().hex[:24])])


class AnthropicProvider(Provider):
    garbage = b'{"id": "msg_garbage", "type": "message", "content": ['
    auth_message = "invalid x-api-key (fake_llm auth directive)"

    _ERRORS = {
        400: "invalid_request_error",
        401: "authentication_error",
        403: "permission_error",
        404: "not_found_error",
        413: "request_too_large",
        429: "rate_limit_error",
        500: "api_error",
        529: "overloaded_error",
    }

    def validate(self, headers, body):
        if not headers.get("x-api-key", "").strip():
            raise BadRequest(401, "x-api-key header is required")
        if not headers.get("anthropic-version", "").strip():
            raise BadRequest(400, "anthropic-version: header is required")
        if not isinstance(body.get("model"), str):
            raise BadRequest(400, "model: Field required")
        if _int_field(body, "max_tokens") is None:
            raise BadRequest(400, "max_tokens: Field required")
        if not isinstance(body.get("messages"), list):
            raise BadRequest(400, "messages: Field required")

    def extract(self, body):
        system = body.get("system")
        system_texts = [content_text(system)] if system is not None else []
        prompt, user = conversation(body["messages"], system_texts)
        return prompt, user, body["max_tokens"]

    def error_body(self, status, message, param=None):
        kind = self._ERRORS.get(status, "api_error" if status >= 500 else "invalid_request_error")
        return {"type": "error", "error": {"type": kind, "message": message}}

    def respond(self, handler, reply):
        body = {
            "id": "msg_" + uuid.uuid4().hex[:24],
            "type": "message",
            "role": "assistant",
            "model": reply.model,
            "content": [{"type": "text", "text": reply.answer}],
            "stop_reason": "max_tokens" if reply.truncated else "end_turn",
            "stop_sequence": None,
            "usage": {
                "input_tokens": reply.prompt_tokens,
                "output_tokens": reply.completion_tokens,
                "cache_read_input_tokens": reply.directives.cached,
                "cache_creation_input_tokens": reply.directives.cache_write,
            },
        }
        return handler.send_json(200, body, self.content_type,
                                 [("request-id", "req_" + uuid.uuid4().hex[:24])])


def _ollama_timestamp() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


class OllamaProvider(Provider):
    garbage = b'{"model": "garbage", "message": {"role": "assistant", "content": '
    auth_message = "unauthorized (fake_llm auth directive)"

    def validate(self, headers, body):
        if not isinstance(body.get("model"), str) or not body["model"]:
            raise BadRequest(400, "model is required")
        if "messages" in body and not isinstance(body["messages"], list):
            raise BadRequest(400, "messages: expected an array")

    def extract(self, body):
        prompt, user = conversation(body.get("messages", []))
        options = body.get("options")
        limit = _int_field(body, "num_predict", options) if isinstance(options, dict) else None
        return prompt, user, limit

    def error_body(self, status, message, param=None):
        return {"error": message}

    def _final(self, reply: Reply, content: str) -> dict:
        # Durations are nanoseconds, as in Ollama; the figures are synthetic except
        # total_duration, which is the real time spent on the request.
        prompt_ns = 1000 * reply.prompt_tokens
        eval_ns = 1000 * reply.completion_tokens
        total_ns = max(int((time.monotonic() - reply.started) * 1e9), prompt_ns + eval_ns + 1000)
        return {
            "model": reply.model,
            "created_at": _ollama_timestamp(),
            "message": {"role": "assistant", "content": content},
            "done": True,
            "done_reason": "length" if reply.truncated else "stop",
            "total_duration": total_ns,
            "load_duration": 1000,
            "prompt_eval_count": reply.prompt_tokens,
            "prompt_eval_duration": prompt_ns,
            "eval_count": reply.completion_tokens,
            "eval_duration": eval_ns,
        }

    def respond(self, handler, reply):
        if reply.body.get("stream") is False:
            return handler.send_json(200, self._final(reply, reply.answer))
        # Streaming: one NDJSON object per word (with its leading whitespace), then a
        # final object carrying done:true and the counters.  Like the real server the
        # body length is not known up front, so it goes out chunked.
        pieces = re.findall(r"\s*\S+|\s+$", reply.answer)
        lines = [{"model": reply.model, "created_at": _ollama_timestamp(),
                  "message": {"role": "assistant", "content": piece}, "done": False}
                 for piece in pieces]
        if not handler.start_chunked(200, "application/x-ndjson"):
            return 200
        delay = reply.directives.stream_slow_ms / 1000.0
        for index, line in enumerate(lines):
            if index and delay:
                time.sleep(delay)
            if not handler.send_chunk(_dumps(line) + b"\n"):
                return 200
        if lines and delay:
            time.sleep(delay)
        handler.end_chunked(_dumps(self._final(reply, "")) + b"\n")
        return 200


class GenericProvider(Provider):
    """POST /generic: any JSON in; the answer comes from body["input"]."""
    garbage = b'{"output": {"text": '

    def validate(self, headers, body):
        if "model" in body and not isinstance(body["model"], str):
            raise BadRequest(400, "model: expected a string")

    def extract(self, body):
        text = body.get("input")
        if not isinstance(text, str):
            text = json.dumps(body, separators=(",", ":"), sort_keys=True)
        return text, text, _int_field(body, "max_tokens")

    def error_body(self, status, message, param=None):
        return {"error": {"message": message, "status": status}}

    def respond(self, handler, reply):
        return handler.send_json(200, {
            "output": {"text": reply.answer},
            "meta": {"tokens_in": reply.prompt_tokens, "tokens_out": reply.completion_tokens},
        })


OPENAI, ANTHROPIC, OLLAMA, GENERIC = (
    OpenAIProvider(), AnthropicProvider(), OllamaProvider(), GenericProvider())

ROUTES = {
    "/v1/chat/completions": OPENAI,
    "/chat/completions": OPENAI,
    "/v1/messages": ANTHROPIC,
    "/api/chat": OLLAMA,
    "/generic": GENERIC,
}


# Embeddings endpoints: path -> (wire format whose error bodies they use, kind).
EMBED_ROUTES = {
    "/v1/embeddings": (OPENAI, "openai"),
    "/embeddings": (OPENAI, "openai"),
    "/api/embed": (OLLAMA, "ollama"),
    "/api/embeddings": (OLLAMA, "ollama-legacy"),
}


def _dumps(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# ---------------------------------------------------------------------------
# HTTP plumbing

_DISCONNECTS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake_llm/1"
    sys_version = ""
    disable_nagle_algorithm = True
    server: "FakeLLMServer"

    # -- connection lifecycle -------------------------------------------------

    def setup(self):
        self.timeout = self.server.idle_timeout
        super().setup()
        self.counted_generation = -1
        self._pending = None  # (record, generation) of the request being answered
        self.server.state.connection_opened()

    def log_message(self, format, *args):  # signature fixed by the base class
        if self.server.verbose:
            super().log_message(format, *args)

    # -- writing ----------------------------------------------------------------

    def _settle(self, status: int | None) -> None:
        """Mark the current recorded request as answered with `status`.

        Called just *before* the last bytes of a response go out, so a client that
        has read its response always sees it in /_requests and /_stats."""
        pending, self._pending = self._pending, None
        if pending is not None:
            self.server.state.finish(pending[0], pending[1], status)

    def _head(self, status: int, headers) -> bytes:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Overloaded" if status == 529 else "Unknown"
        lines = [f"HTTP/1.1 {status} {reason}", f"Server: {self.server_version}"]
        lines += [f"{name}: {value}" for name, value in headers]
        if self.close_connection:
            lines.append("Connection: close")
        elif self.request_version == "HTTP/1.0":
            lines.append("Connection: keep-alive")  # a 1.0 client asked for keep-alive
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def send_bytes(self, status: int, body: bytes, content_type: str = "application/json",
                   headers=()) -> int | None:
        """Write a whole response in one send.  Returns status, or None if the client left."""
        self.log_request(status, len(body))
        self._settle(status)
        head = self._head(status, [("Content-Type", content_type),
                                   ("Content-Length", str(len(body))), *headers])
        try:
            self.wfile.write(head + body)
            return status
        except _DISCONNECTS:
            self.close_connection = True
            return None

    def send_json(self, status: int, obj, content_type: str = "application/json",
                  headers=()) -> int | None:
        return self.send_bytes(status, _dumps(obj), content_type, headers)

    def start_chunked(self, status: int, content_type: str) -> bool:
        self.log_request(status, "-")
        head = self._head(status, [("Content-Type", content_type),
                                   ("Transfer-Encoding", "chunked")])
        return self._write(head)

    def send_chunk(self, data: bytes) -> bool:
        return self._write(b"%x\r\n%s\r\n" % (len(data), data))

    def end_chunked(self, data: bytes) -> bool:
        """The last chunk of a chunked body, written together with the terminator."""
        self._settle(200)
        return self._write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data))

    def _write(self, data: bytes) -> bool:
        try:
            self.wfile.write(data)
            return True
        except _DISCONNECTS:
            self.close_connection = True
            return False

    # -- reading ----------------------------------------------------------------

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # skip trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        return self.rfile.read(length)

    def _wait(self, ms: float) -> bool:
        """Sleep `ms` milliseconds; returns False as soon as the client hangs up."""
        deadline = time.monotonic() + ms / 1000.0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return True
            try:
                readable, _, _ = select.select([self.connection], [], [], remaining)
                if readable:
                    if self.connection.recv(1, socket.MSG_PEEK) == b"":
                        self.close_connection = True
                        return False
                    # The client sent more bytes (a pipelined request): it is still
                    # there, and select would now spin, so just sleep out the rest.
                    time.sleep(max(0.0, deadline - time.monotonic()))
                    return True
            except OSError:
                self.close_connection = True
                return False

    # -- dispatch ---------------------------------------------------------------

    def do_GET(self):
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def _dispatch(self):
        path, _, query = self.path.partition("?")
        try:
            raw = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            self.send_json(400, {"error": {"message": "fake_llm: unreadable request body"}})
            return
        try:
            if path.startswith("/_"):
                self._control(path, query)
            else:
                self._recorded(path, query, raw)
        except Exception:  # a bug here should be loud, not a hung client
            traceback.print_exc(file=sys.stderr)
            self.close_connection = True
            self.send_bytes(500, b"fake_llm internal error\n", "text/plain")

    def _control(self, path: str, query: str):
        state = self.server.state
        methods = {"/_requests": "GET", "/_stats": "GET", "/_reset": "POST", "/_health": "GET"}
        method = methods.get(path)
        if method is None:
            self.send_json(404, {"error": {"message": f"fake_llm: no control endpoint {path}"}})
        elif self.command != method:
            self.send_json(405, {"error": {"message": f"fake_llm: use {method} {path}"}},
                           headers=[("Allow", method)])
        elif path == "/_health":
            self.send_bytes(200, b"ok", "text/plain")
        elif path == "/_requests":
            self.send_json(200, state.records(parse_qs(query).get("path", [""])[0]))
        elif path == "/_stats":
            self.send_json(200, state.stats())
        else:
            state.reset()
            self.send_json(200, {"ok": True})

    def _recorded(self, path: str, query: str, raw: bytes):
        text = raw.decode("utf-8", errors="replace")
        try:
            body, parsed = (json.loads(text), True) if raw else ("", False)
        except ValueError:
            body, parsed = text, False
        headers: dict = {}
        for name, value in self.headers.items():
            name = name.lower()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        record = {"seq": None, "method": self.command, "path": path, "query": query,
                  "headers": headers, "body": body, "status": None, "ts": time.time()}
        started = time.monotonic()
        state = self.server.state
        inflight, generation = state.begin(self, record)
        self._pending = (record, generation)
        status = None
        try:
            provider = ROUTES.get(path)
            if provider is not None:
                if self.command != "POST":
                    status = self.send_json(405, provider.error_body(405, f"use POST {path}"),
                                            headers=[("Allow", "POST")])
                else:
                    status = self._llm(provider, headers, body if parsed else None,
                                       inflight, started)
            elif path in EMBED_ROUTES:
                provider, kind = EMBED_ROUTES[path]
                if self.command != "POST":
                    status = self.send_json(405, provider.error_body(405, f"use POST {path}"),
                                            headers=[("Allow", "POST")])
                else:
                    status = self._embed(provider, kind, body if parsed else None, inflight, started)
            elif path == "/webhook" or path.startswith("/webhook/"):
                status = self._webhook(path, query, inflight)
            else:
                status = self.send_json(404, {"error": {
                    "message": f"fake_llm: no route for {self.command} {path}"}})
        finally:
            self._settle(status)  # no-op unless nothing was sent (drop, client gone)

    def _retry_headers(self, status: int, d: Directives) -> list:
        headers = []
        if status in (429, 503, 529):
            if d.retry_after is not None:
                headers.append(("Retry-After", d.retry_after))
            if d.retry_after_ms is not None:
                headers.append(("retry-after-ms", d.retry_after_ms))
        return headers

    def _faults(self, provider, key: str, d: Directives, inflight: int):
        """Apply the fault directives in their documented order.

        Returns (True, status) if a fault answered (or dropped) the request, or
        (False, None) if the request should be answered normally."""
        state = self.server.state

        def error(status, message):
            return True, self.send_json(status, provider.error_body(status, message),
                                        provider.content_type, self._retry_headers(status, d))

        if d.limit is not None and inflight > d.limit:
            return error(429, f"fake_llm: {inflight} requests in flight, limit is {d.limit}")
        for delay in (d.hang_ms, d.latency_ms):
            if delay and not self._wait(delay):
                self.log_message('"%s" client left while delayed', self.requestline)
                return True, None
        if d.drop and state.take_fault("drop", key, d.drop_times):
            self.log_message('"%s" dropped', self.requestline)
            self.close_connection = True  # closing without a byte of response
            return True, None
        if d.auth:
            return error(401, provider.auth_message)
        if d.fail_status is not None and state.take_fault("fail", key, d.fail_times):
            return error(d.fail_status, f"fake_llm: injected HTTP {d.fail_status}")
        if d.garbage:
            return True, self.send_bytes(200, provider.garbage, provider.content_type)
        if d.garbage_ok_json:
            return True, self.send_json(200, {"unexpected": True}, provider.content_type)
        return False, None

    def _llm(self, provider: Provider, headers: dict, body, inflight: int, started: float):
        def bad(status, message, param=None):
            return self.send_json(status, provider.error_body(status, message, param),
                                  provider.content_type)

        if not isinstance(body, dict):
            return bad(400, "the request body must be a JSON object")
        try:
            provider.validate(headers, body)
            model = body.get("model") or ""
            base, directives = parse_model(model)
            prompt, user, limit = provider.extract(body)
        except BadRequest as e:
            return bad(e.status, e.message, e.param)
        except DirectiveError as e:
            return bad(400, f"fake_llm: {e}", "model")

        handled, status = self._faults(provider, model, directives, inflight)
        if handled:
            return status
        answer, truncated = truncate_tokens(graded_answer(user, base, directives), limit)
        return provider.respond(self, Reply(
            model=base, directives=directives, answer=answer, truncated=truncated,
            prompt_tokens=count_tokens(prompt), completion_tokens=count_tokens(answer),
            body=body, started=started))

    def _embed(self, provider: Provider, kind: str, body, inflight: int, started: float):
        def bad(status, message, param=None):
            return self.send_json(status, provider.error_body(status, message, param),
                                  provider.content_type)

        if not isinstance(body, dict):
            return bad(400, "the request body must be a JSON object")
        model = body.get("model")
        if not isinstance(model, str) or not model:
            return bad(400, "you must provide a model parameter", "model")
        value = body.get("prompt" if kind == "ollama-legacy" else "input")
        if isinstance(value, str):
            texts = [value]
        elif (kind != "ollama-legacy" and isinstance(value, list) and value
              and all(isinstance(x, str) for x in value)):
            texts = value
        else:
            field = "prompt" if kind == "ollama-legacy" else "input"
            return bad(400, f"{field}: expected a string or a non-empty array of strings", field)
        dimensions = body.get("dimensions", EMBED_DIMENSIONS)
        if isinstance(dimensions, bool) or not isinstance(dimensions, int) or not 1 <= dimensions <= 4096:
            return bad(400, "dimensions: expected an integer from 1 to 4096", "dimensions")
        if kind == "openai" and body.get("encoding_format", "float") != "float":
            return bad(400, "fake_llm: only encoding_format float is supported", "encoding_format")
        try:
            base, directives = parse_model(model)
        except DirectiveError as e:
            return bad(400, f"fake_llm: {e}", "model")
        handled, status = self._faults(provider, model, directives, inflight)
        if handled:
            return status
        vectors = [embed_vector(t, dimensions) for t in texts]
        tokens = sum(count_tokens(t) for t in texts)
        if kind == "openai":
            reply = {"object": "list",
                     "data": [{"object": "embedding", "index": i, "embedding": v}
                              for i, v in enumerate(vectors)],
                     "model": base,
                     "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
        elif kind == "ollama":
            total_ns = max(int((time.monotonic() - started) * 1e9), 1000 * tokens + 1000)
            reply = {"model": base, "embeddings": vectors, "total_duration": total_ns,
                     "load_duration": 1000, "prompt_eval_count": tokens}
        else:
            reply = {"embedding": vectors[0]}
        return self.send_json(200, reply, provider.content_type)

    def _webhook(self, path: str, query: str, inflight: int):
        if self.command not in ("POST", "PUT"):
            return self.send_json(405, {"ok": False}, headers=[("Allow", "POST, PUT")])
        spec = parse_directive_query(query)
        key = path + "+" + (spec or "")
        try:
            _, directives = parse_model("webhook+" + spec) if spec else ("", NO_DIRECTIVES)
        except DirectiveError as e:
            return self.send_json(400, GENERIC.error_body(400, f"fake_llm: {e}"))
        handled, status = self._faults(GENERIC, key, directives, inflight)
        return status if handled else self.send_json(200, {"ok": True})


class FakeLLMServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False     # do not keep a list of every handler thread
    request_queue_size = 1024  # listen() backlog (the kernel caps it at somaxconn)

    def __init__(self, address, state: State, verbose: bool, idle_timeout: float | None):
        self.state = state
        self.verbose = verbose
        self.idle_timeout = idle_timeout
        super().__init__(address, Handler)

    def server_bind(self):
        # HTTPServer.server_bind would resolve our FQDN; skip that (it can stall on
        # a sandbox without DNS, and nothing here uses it).
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request, client_address):
        if self.verbose:
            super().handle_error(request, client_address)


# ---------------------------------------------------------------------------
# Entry point

def _loopback(host: str) -> str:
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.IPv4Address(host)
    except ValueError:
        address = None
    if address is None or not address.is_loopback:
        raise SystemExit(f"fake_llm: --host must be an IPv4 loopback address, not {host!r}")
    return host


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Fake LLM server for mlopsctl tests.")
    parser.add_argument("--port", type=int, default=0, help="port to bind (0: any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="IPv4 loopback address to bind")
    parser.add_argument("--exit-on-stdin-eof", action="store_true",
                        help="also exit when standard input is closed")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    parser.add_argument("--max-records", type=int, default=100000,
                        help="keep at most this many recorded requests (oldest dropped)")
    parser.add_argument("--idle-timeout", type=float, default=60.0,
                        help="close keep-alive connections idle this many seconds (0: never)")
    args = parser.parse_args(argv)

    host = _loopback(args.host)
    threading.stack_size(512 * 1024)  # hundreds of handler threads; keep them small
    server = FakeLLMServer((host, args.port), State(args.max_records), args.verbose,
                           args.idle_timeout or None)

    stop = threading.Event()
    # A handler must not call stop.set(): it runs on the main thread, which may
    # be inside stop.wait() holding the event's lock, and would deadlock on it.
    # It only records the signal; the loop below looks every 0.2 s.
    signalled = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda signum, _frame: signalled.append(signum))
    if args.exit_on_stdin_eof:
        def watch_stdin():
            while sys.stdin.buffer.read1(65536):
                pass
            stop.set()
        threading.Thread(target=watch_stdin, name="stdin-eof", daemon=True).start()

    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                     name="serve", daemon=True).start()
    print(f"READY http://{host}:{server.server_port}", flush=True)

    # The main thread only waits, so signal handlers run promptly; serve_forever
    # runs on its own thread because shutdown() must be called from another one.
    while not stop.wait(0.2) and not signalled:
        pass
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
