#!/usr/bin/env python3
"""Self-test for fake_llm.py.

Starts the server as a subprocess and checks every endpoint, directive and control
endpoint described in README.md, using urllib and raw sockets (the raw client is used
wherever the wire matters: keep-alive, Content-Length, chunked streams, dropped
connections, timeouts).  Exit status 0 when everything passes; otherwise 1, after
printing one line per failed check.

    python3 tests/fake_llm/selftest.py [-v]
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "fake_llm.py")
VERBOSE = "-v" in sys.argv[1:]

ANTHROPIC_HEADERS = {"x-api-key": "test-key", "anthropic-version": "2023-06-01"}


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def eq(actual, expected, what):
    if actual != expected:
        raise Failure(f"{what}: expected {expected!r}, got {actual!r}")


# ---------------------------------------------------------------------------
# Server process

class ServerProcess:
    def __init__(self, *extra_args):
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, SERVER, "--port", "0", *extra_args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr)
        self.ready_line = self._read_line(timeout=10)
        match = re.fullmatch(r"READY http://127\.0\.0\.1:(\d+)\n", self.ready_line)
        if not match:
            self.kill()
            raise Failure(f"start-up: expected 'READY http://127.0.0.1:PORT', got "
                          f"{self.ready_line!r}; stderr: {self.stderr_text()!r}")
        self.port = int(match[1])
        self.base = f"http://127.0.0.1:{self.port}"

    def _read_line(self, timeout):
        deadline = time.monotonic() + timeout
        data = b""
        while not data.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.proc.stdout], [], [], remaining)[0]:
                break
            byte = os.read(self.proc.stdout.fileno(), 1)
            if not byte:
                break
            data += byte
        return data.decode(errors="replace")

    def stderr_text(self):
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


# ---------------------------------------------------------------------------
# Clients

class Response:
    def __init__(self, status, headers, body, chunks=None):
        self.status = status
        self.headers = headers          # lower-case name -> value
        self.body = body                # bytes (chunked bodies joined)
        self.chunks = chunks            # [(arrival time, bytes)] for chunked bodies

    def json(self):
        return json.loads(self.body)


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http(method, path, body=None, headers=None, timeout=10, raw_body=None):
    """One request through urllib (a new connection each time)."""
    data = raw_body if raw_body is not None else (
        json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(
        BASE + path, data=data, method=method,
        headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with _OPENER.open(request, timeout=timeout) as r:
            return Response(r.status, {k.lower(): v for k, v in r.headers.items()}, r.read())
    except urllib.error.HTTPError as e:
        return Response(e.code, {k.lower(): v for k, v in e.headers.items()}, e.read())


class RawConn:
    """A minimal HTTP/1.1 client on one socket, for keep-alive and wire checks."""

    def __init__(self, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", PORT), timeout=timeout)
        self.buf = b""

    def close(self):
        self.sock.close()

    def send(self, method, path, body=None, headers=None):
        data = body if isinstance(body, bytes) else (
            json.dumps(body).encode() if body is not None else b"")
        lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1",
                 "Content-Type: application/json", f"Content-Length: {len(data)}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed by server")
        self.buf += chunk

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("latin-1")

    def _take(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def response(self):
        status = int(self._line().split(" ", 2)[1])
        headers = {}
        while (line := self._line()):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self._line().split(";")[0], 16)
                data = self._take(size)
                self._take(2)
                if size == 0:
                    break
                chunks.append((time.monotonic(), data))
            return Response(status, headers, b"".join(c for _, c in chunks), chunks)
        check("content-length" in headers, f"response {status} without Content-Length")
        return Response(status, headers, self._take(int(headers["content-length"])))

    def request(self, method, path, body=None, headers=None):
        self.send(method, path, body, headers)
        return self.response()

    def at_eof(self, timeout=3):
        """True if the server closes the connection without sending anything."""
        self.sock.settimeout(timeout)
        return self.buf == b"" and self.sock.recv(1) == b""


def chat(model, text, path="/v1/chat/completions", **extra):
    return http("POST", path, {"model": model,
                               "messages": [{"role": "user", "content": text}], **extra})


def claude(model, text="hi", max_tokens=100, headers=ANTHROPIC_HEADERS, **extra):
    return http("POST", "/v1/messages", {"model": model, "max_tokens": max_tokens,
                                         "messages": [{"role": "user", "content": text}],
                                         **extra}, headers=headers)


def ollama(model, text="hi", **extra):
    return http("POST", "/api/chat", {"model": model, "stream": False,
                                      "messages": [{"role": "user", "content": text}], **extra})


def reset():
    eq(http("POST", "/_reset").status, 200, "POST /_reset")


def stats():
    return http("GET", "/_stats").json()


# ---------------------------------------------------------------------------
# Checks

def test_health():
    r = http("GET", "/_health")
    eq((r.status, r.body), (200, b"ok"), "GET /_health")
    eq(http("POST", "/_health").status, 405, "POST /_health")
    eq(http("GET", "/_nothing").status, 404, "GET /_nothing")


def test_openai():
    body = {"model": "gpt-4o-mini", "temperature": 0,
            "messages": [{"role": "system", "content": "You are terse."},
                         {"role": "user", "content": "What is two plus two?"}]}
    for path in ("/v1/chat/completions", "/chat/completions"):
        r = http("POST", path, body)
        eq(r.status, 200, f"{path} status")
        eq(int(r.headers["content-length"]), len(r.body), f"{path} Content-Length")
        j = r.json()
        check(j["id"].startswith("chatcmpl-"), f"{path} id {j['id']!r}")
        eq(j["object"], "chat.completion", f"{path} object")
        check(isinstance(j["created"], int), f"{path} created is not an int")
        eq(j["model"], "gpt-4o-mini", f"{path} model")
        eq(len(j["choices"]), 1, f"{path} choices")
        choice = j["choices"][0]
        eq(choice["index"], 0, f"{path} choice index")
        eq(choice["message"], {"role": "assistant", "content": "echo: What is two plus two?"},
           f"{path} message")
        eq(choice["finish_reason"], "stop", f"{path} finish_reason")
        eq(j["usage"], {"prompt_tokens": 8, "completion_tokens": 6, "total_tokens": 14,
                        "prompt_tokens_details": {"cached_tokens": 0}}, f"{path} usage")

    # Content given as a list of parts; the @reply line picks the answer exactly.
    r = http("POST", "/v1/chat/completions", {"model": "m", "messages": [
        {"role": "user", "content": [{"type": "text", "text": "intro words"},
                                     {"type": "text", "text": "@reply X  Y"}]}]})
    eq(r.json()["choices"][0]["message"]["content"], "X  Y", "content parts + @reply")
    eq(r.json()["usage"]["prompt_tokens"], 5, "content parts prompt_tokens")

    r = chat("gpt-4o-mini+cached=3", "hello")
    eq(r.json()["usage"]["prompt_tokens_details"]["cached_tokens"], 3, "cached=3 (OpenAI)")

    r = http("POST", "/v1/chat/completions", raw_body=b"{not json")
    eq(r.status, 400, "invalid JSON status")
    eq(set(r.json()["error"]), {"message", "type", "param", "code"}, "OpenAI error body keys")
    r = http("POST", "/v1/chat/completions", {"model": "m"})
    eq((r.status, r.json()["error"]["param"]), (400, "messages"), "missing messages")
    r = chat("m", "hi", max_tokens="5")
    eq((r.status, r.json()["error"]["param"]), (400, "max_tokens"), "max_tokens not an integer")
    eq(http("GET", "/v1/chat/completions").status, 405, "GET /v1/chat/completions")


def test_reply_and_truncation():
    text = "first line\n@reply the chosen answer\n@reply not this one"
    j = chat("m", text).json()
    eq(j["choices"][0]["message"]["content"], "the chosen answer", "@reply answer")
    eq(j["usage"]["completion_tokens"], 3, "@reply completion_tokens")
    eq(j["usage"]["prompt_tokens"], 10, "@reply prompt_tokens")

    j = chat("m", text, max_tokens=2).json()
    eq((j["choices"][0]["message"]["content"], j["choices"][0]["finish_reason"],
        j["usage"]["completion_tokens"]), ("the chosen", "length", 2), "max_tokens=2")
    j = chat("m", text, max_tokens=3).json()
    eq((j["choices"][0]["message"]["content"], j["choices"][0]["finish_reason"]),
       ("the chosen answer", "stop"), "max_tokens equal to answer length")
    j = chat("m", text, max_tokens=5, max_completion_tokens=1).json()
    eq((j["choices"][0]["message"]["content"], j["choices"][0]["finish_reason"]),
       ("the", "length"), "max_completion_tokens wins over max_tokens")
    j = chat("m", "@reply ").json()
    eq((j["choices"][0]["message"]["content"], j["usage"]["completion_tokens"]), ("", 1),
       "empty answer counts 1 token")


def test_anthropic():
    body = {"model": "claude-3-5-haiku", "max_tokens": 100,
            "system": [{"type": "text", "text": "Be brief."}],
            "messages": [{"role": "user", "content": "first question"},
                         {"role": "assistant", "content": "an answer"},
                         {"role": "user", "content": [{"type": "text", "text": "second"},
                                                      {"type": "text", "text": "question"}]}]}
    r = http("POST", "/v1/messages", body, headers=ANTHROPIC_HEADERS)
    eq(r.status, 200, "Anthropic status")
    j = r.json()
    check(j["id"].startswith("msg_"), f"Anthropic id {j['id']!r}")
    eq((j["type"], j["role"], j["model"]), ("message", "assistant", "claude-3-5-haiku"),
       "Anthropic type/role/model")
    eq(j["content"], [{"type": "text", "text": "echo: second\nquestion"}], "Anthropic content")
    eq((j["stop_reason"], j["stop_sequence"]), ("end_turn", None), "Anthropic stop_reason")
    eq(j["usage"], {"input_tokens": 8, "output_tokens": 3, "cache_read_input_tokens": 0,
                    "cache_creation_input_tokens": 0}, "Anthropic usage")

    j = claude("claude+cached=4+cache_write=7", "@reply a b c", max_tokens=1,
               system="sys text").json()
    eq((j["model"], j["content"][0]["text"], j["stop_reason"]), ("claude", "a", "max_tokens"),
       "Anthropic max_tokens truncation")
    eq(j["usage"], {"input_tokens": 6, "output_tokens": 1, "cache_read_input_tokens": 4,
                    "cache_creation_input_tokens": 7}, "Anthropic cached/cache_write usage")

    for headers, status, kind in (
            ({"anthropic-version": "2023-06-01"}, 401, "authentication_error"),
            ({"x-api-key": "", "anthropic-version": "2023-06-01"}, 401, "authentication_error"),
            ({"x-api-key": "k"}, 400, "invalid_request_error")):
        r = claude("claude", headers=headers)
        eq(r.status, status, f"Anthropic headers {headers}")
        eq(r.json()["type"], "error", "Anthropic error body type")
        eq(r.json()["error"]["type"], kind, f"Anthropic headers {headers} error type")
        check(isinstance(r.json()["error"]["message"], str), "Anthropic error message")
    r = http("POST", "/v1/messages", {"model": "claude", "messages": []},
             headers=ANTHROPIC_HEADERS)
    eq((r.status, r.json()["error"]["type"]), (400, "invalid_request_error"),
       "Anthropic missing max_tokens")


def test_ollama():
    r = ollama("llama3.2", "@reply one two three", options={"temperature": 0})
    eq(r.status, 200, "Ollama stream:false status")
    j = r.json()
    eq((j["model"], j["message"], j["done"], j["done_reason"]),
       ("llama3.2", {"role": "assistant", "content": "one two three"}, True, "stop"),
       "Ollama stream:false body")
    eq((j["prompt_eval_count"], j["eval_count"]), (4, 3), "Ollama counts")
    for field in ("total_duration", "load_duration", "prompt_eval_duration", "eval_duration"):
        check(isinstance(j[field], int) and j[field] > 0, f"Ollama {field} = {j.get(field)!r}")
    check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", j["created_at"]),
          f"Ollama created_at {j['created_at']!r}")

    j = ollama("llama3.2", "@reply one two three", options={"num_predict": 2}).json()
    eq((j["message"]["content"], j["done_reason"], j["eval_count"]),
       ("one two", "length", 2), "Ollama num_predict truncation")

    # Streaming (stream absent, and stream:true): chunked NDJSON, one object per chunk.
    for extra in ({}, {"stream": True}):
        conn = RawConn()
        r = conn.request("POST", "/api/chat", {"model": "llama3.2", **extra, "messages": [
            {"role": "user", "content": "@reply alpha  beta gamma"}]})
        conn.close()
        eq((r.status, r.headers.get("transfer-encoding"), r.headers.get("content-type")),
           (200, "chunked", "application/x-ndjson"), f"Ollama stream {extra} headers")
        objects = [json.loads(line) for line in r.body.decode().splitlines()]
        eq(len(objects), len(r.chunks), "Ollama stream: one object per chunk")
        eq("".join(o["message"]["content"] for o in objects), "alpha  beta gamma",
           "Ollama streamed content")
        eq([o["done"] for o in objects], [False, False, False, True], "Ollama done flags")
        final = objects[-1]
        eq((final["done_reason"], final["eval_count"], final["prompt_eval_count"]),
           ("stop", 3, 4), "Ollama final stream object")

    # stream_slow spaces the chunks out: 3 words + final object = 3 gaps.
    conn = RawConn()
    started = time.monotonic()
    r = conn.request("POST", "/api/chat", {"model": "llama3.2+stream_slow=100", "messages": [
        {"role": "user", "content": "@reply a b c"}]})
    conn.close()
    first, last = r.chunks[0][0], r.chunks[-1][0]
    check(last - first >= 0.28, f"stream_slow=100: chunks spread over {last - first:.3f}s")
    check(first - started < last - started - 0.2, "stream_slow: first chunk was not early")

    r = ollama("llama3.2+fail=503x1+retry_after=2")
    eq((r.status, r.headers.get("retry-after")), (503, "2"), "Ollama fail=503x1")
    check(isinstance(r.json()["error"], str), f"Ollama error body {r.body!r}")
    eq(ollama("llama3.2+fail=503x1+retry_after=2").status, 200, "Ollama after fail=503x1")
    r = http("POST", "/api/chat", {"messages": []})
    eq((r.status, set(r.json())), (400, {"error"}), "Ollama missing model")


def test_generic():
    r = http("POST", "/generic", {"input": "hello world", "other": 1})
    eq(r.status, 200, "generic status")
    eq(r.json(), {"output": {"text": "echo: hello world"},
                  "meta": {"tokens_in": 2, "tokens_out": 3}}, "generic body")
    j = http("POST", "/generic", {"input": 'ask\n@reply {"label": "spam"}'}).json()
    eq(j["output"]["text"], '{"label": "spam"}', "generic @reply")
    j = http("POST", "/generic", {"question": "q", "n": 2}).json()
    eq(j["output"]["text"], 'echo: {"n":2,"question":"q"}', "generic without input")
    r = http("POST", "/generic", {"model": "g+fail=500x1", "input": "x"})
    eq((r.status, r.json()["error"]["status"]), (500, 500), "generic fail=500x1")
    eq(http("POST", "/generic", {"model": "g+fail=500x1", "input": "x"}).status, 200,
       "generic after fail=500x1")


def test_embeddings():
    def cosine(a, b):
        return sum(x * y for x, y in zip(a, b))  # unit vectors

    r = http("POST", "/v1/embeddings", {"model": "text-embedding-3-small",
                                        "input": ["Paris is the capital of France",
                                                  "the capital of France is Paris",
                                                  "Berlin is in Germany"]})
    eq(r.status, 200, "openai embeddings status")
    j = r.json()
    eq([d["index"] for d in j["data"]], [0, 1, 2], "openai embeddings order")
    eq(len(j["data"][0]["embedding"]), 128, "default dimensions")
    eq(j["usage"], {"prompt_tokens": 16, "total_tokens": 16}, "openai embeddings usage")
    a, b, c = (d["embedding"] for d in j["data"])
    check(abs(cosine(a, b) - 1) < 1e-5, "same words: cosine 1")
    check(cosine(a, c) < 0.5, f"different words: cosine {cosine(a, c)} < 0.5")
    one = http("POST", "/embeddings", {"model": "m", "input": "Paris is the capital of France",
                                       "dimensions": 16}).json()
    eq(len(one["data"][0]["embedding"]), 16, "dimensions")
    eq(http("POST", "/v1/embeddings", {"model": "m", "input": [1, 2]}).status, 400, "token input")
    eq(http("POST", "/v1/embeddings", {"model": "m+fail=500x1", "input": "x"}).status, 500,
       "embeddings directives")
    o = http("POST", "/api/embed", {"model": "nomic-embed-text", "input": ["a b", "c"]}).json()
    eq((len(o["embeddings"]), o["prompt_eval_count"]), (2, 3), "ollama embed")
    eq(o["embeddings"][0], embed_reference("a b"), "ollama embed vector")
    legacy = http("POST", "/api/embeddings", {"model": "nomic-embed-text", "prompt": "a b"}).json()
    eq(legacy["embedding"], o["embeddings"][0], "ollama legacy embeddings")
    eq(http("POST", "/api/embed", {"input": "x"}).json(), {"error": "you must provide a model parameter"},
       "ollama embed without model")


def embed_reference(text):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import fake_llm
    return fake_llm.embed_vector(text)


def test_webhook_and_records():
    reset()
    r = http("POST", "/webhook/budget-alert", {"alert": "budget", "spent": 12.5},
             headers={"X-Signature": "abc"})
    eq((r.status, r.json()), (200, {"ok": True}), "webhook response")
    chat("m", "not a webhook")
    records = http("GET", "/_requests?path=/webhook").json()
    eq(len(records), 1, "/_requests?path=/webhook count")
    rec = records[0]
    eq((rec["method"], rec["path"], rec["status"], rec["body"]),
       ("POST", "/webhook/budget-alert", 200, {"alert": "budget", "spent": 12.5}),
       "webhook record")
    eq(rec["headers"].get("x-signature"), "abc", "recorded header (lower-case name)")
    check(isinstance(rec["seq"], int) and isinstance(rec["ts"], float), "record seq/ts")
    everything = http("GET", "/_requests").json()
    eq([x["path"] for x in everything], ["/webhook/budget-alert", "/v1/chat/completions"],
       "/_requests order (control requests are not recorded)")
    eq([x["seq"] for x in everything], [1, 2], "record seq numbers")

    raw = http("PUT", "/webhook/raw", raw_body=b"not json", headers={"Content-Type": "text/plain"})
    eq(raw.status, 200, "webhook PUT with a raw body")
    eq(http("GET", "/_requests?path=/webhook/raw").json()[0]["body"], "not json", "raw body record")

    path = "/webhook/flaky?directives=fail=503x1+retry_after=2"
    r = http("POST", path, {"n": 1})
    eq((r.status, r.headers.get("retry-after")), (503, "2"), "webhook directives fail")
    eq(http("POST", path, {"n": 1}).status, 200, "webhook after fail=503x1")
    eq(http("POST", "/nowhere", {}).status, 404, "unknown path")
    eq(http("GET", "/_requests?path=/nowhere").json()[0]["status"], 404, "404 recorded")


def test_fail_counts():
    reset()
    model = "gpt-4o-mini+fail=429x2+retry_after=1"
    for attempt in (1, 2):
        r = chat(model, "hi")
        eq(r.status, 429, f"fail=429x2 attempt {attempt}")
        eq(r.headers.get("retry-after"), "1", "Retry-After header")
        error = r.json()["error"]
        eq((error["type"], error["code"], error["param"]),
           ("requests", "rate_limit_exceeded", None), "OpenAI 429 error body")
    r = chat(model, "hi")
    eq((r.status, r.json()["model"]), (200, "gpt-4o-mini"), "fail=429x2 third attempt")
    eq(chat(model + "+latency=0", "hi").status, 429, "counters are per distinct model string")

    for attempt in range(4):
        eq(chat("m+fail=429", "hi").status, 429, f"fail=429 (always) attempt {attempt}")

    r = chat("m+fail=429+retry_after=0.2+retry_after_ms=150", "hi")
    eq((r.headers.get("retry-after"), r.headers.get("retry-after-ms")), ("0.2", "150"),
       "fractional Retry-After and retry-after-ms")
    r = chat("m+fail=500x1+retry_after=1", "hi")
    eq((r.status, r.json()["error"]["type"], "retry-after" in r.headers),
       (500, "server_error", False), "fail=500: server_error body, no Retry-After")
    r = chat("m+fail=503x1", "hi")
    eq((r.status, r.json()["error"]["type"]), (503, "service_unavailable_error"), "OpenAI 503")

    for attempt in (1, 2, 3):
        r = claude("claude+fail=500x3")
        eq((r.status, r.json()["error"]["type"]), (500, "api_error"),
           f"Anthropic fail=500x3 attempt {attempt}")
    eq(claude("claude+fail=500x3").status, 200, "Anthropic after fail=500x3")
    r = claude("claude+fail=429x1+retry_after=3")
    eq((r.status, r.json()["error"]["type"], r.headers.get("retry-after")),
       (429, "rate_limit_error", "3"), "Anthropic 429")
    r = claude("claude+fail=529+retry_after=1")
    eq((r.status, r.json()["error"]["type"], r.headers.get("retry-after")),
       (529, "overloaded_error", "1"), "Anthropic 529")

    eq(chat("m+fail=429x1", "hi").status, 429, "before reset")
    eq(chat("m+fail=429x1", "hi").status, 200, "before reset, second")
    reset()
    eq(chat("m+fail=429x1", "hi").status, 429, "/_reset clears fail counters")


def test_auth():
    r = chat("m+auth", "hi")
    eq((r.status, r.json()["error"]["code"]), (401, "invalid_api_key"), "OpenAI auth")
    r = claude("claude+auth")
    eq((r.status, r.json()["error"]["type"]), (401, "authentication_error"), "Anthropic auth")
    r = ollama("llama+auth")
    eq((r.status, set(r.json())), (401, {"error"}), "Ollama auth")
    eq(http("POST", "/generic", {"model": "g+auth"}).status, 401, "generic auth")


def test_garbage():
    conn = RawConn()
    for model, path, body in (
            ("m+garbage", "/v1/chat/completions", None),
            ("c+garbage", "/v1/messages", None),
            ("o+garbage", "/api/chat", None)):
        r = conn.request("POST", path, {"model": model, "max_tokens": 5,
                                        "messages": [{"role": "user", "content": "hi"}]},
                         headers=ANTHROPIC_HEADERS)
        eq(r.status, 200, f"{model} status")
        eq(int(r.headers["content-length"]), len(r.body), f"{model} Content-Length")
        try:
            json.loads(r.body)
            raise Failure(f"{model}: body is valid JSON: {r.body!r}")
        except ValueError:
            pass
    r = conn.request("POST", "/v1/chat/completions", {
        "model": "m+garbage_ok_json", "messages": [{"role": "user", "content": "hi"}]})
    eq((r.status, r.json()), (200, {"unexpected": True}), "garbage_ok_json")
    conn.close()


def test_latency_and_hang():
    started = time.monotonic()
    eq(chat("m+latency=300", "hi").status, 200, "latency=300 status")
    elapsed = time.monotonic() - started
    check(0.3 <= elapsed < 3, f"latency=300 took {elapsed:.3f}s")

    reset()
    conn = RawConn(timeout=0.3)
    conn.send("POST", "/v1/chat/completions",
              {"model": "m+hang=1500", "messages": [{"role": "user", "content": "hi"}]})
    try:
        conn.response()
        raise Failure("hang=1500: got a response within 0.3s")
    except socket.timeout:
        pass
    conn.close()
    # The server notices the client hung up and records the request as unanswered.
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        records = http("GET", "/_requests").json()
        if records and records[0]["status"] is None and stats()["inflight"] == 0:
            break
        time.sleep(0.05)
    else:
        raise Failure(f"hang: abandoned request not recorded as dropped: {records}")
    eq(stats()["by_status"], {"dropped": 1}, "hang: by_status")

    started = time.monotonic()
    eq(chat("m+hang=300", "hi").status, 200, "hang=300 with a patient client")
    check(time.monotonic() - started >= 0.3, "hang=300 answered early")


def test_drop():
    conn = RawConn()
    conn.send("POST", "/v1/chat/completions",
              {"model": "m+drop", "messages": [{"role": "user", "content": "hi"}]})
    check(conn.at_eof(), "drop: connection not closed silently")
    conn.close()
    for attempt, expect_drop in ((1, True), (2, False)):
        conn = RawConn()
        conn.send("POST", "/v1/messages", {"model": "c+dropx1", "max_tokens": 5,
                                           "messages": [{"role": "user", "content": "hi"}]},
                  headers=ANTHROPIC_HEADERS)
        if expect_drop:
            check(conn.at_eof(), "dropx1: first request not dropped")
        else:
            eq(conn.response().status, 200, "dropx1: second request")
        conn.close()


def test_limit():
    reset()
    model = "m+limit=3+latency=1000+retry_after=1"
    barrier = threading.Barrier(8)
    results = []

    def worker():
        barrier.wait()
        r = chat(model, "hi")
        results.append((r.status, r.headers.get("retry-after")))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    eq(sorted(results), [(200, None)] * 3 + [(429, "1")] * 5, "limit=3 with 8 concurrent")
    check(stats()["peak_inflight"] >= 4, "limit: peak_inflight")


def test_accuracy():
    def answer(model, text):
        return chat(model, text).json()["choices"][0]["message"]["content"]

    def expected(seed, base, text, p):
        u = int(hashlib.sha256(f"{seed}:{base}:{text}".encode()).hexdigest()[:16], 16) / 2.0**64
        return "yes" if u < p else "wrong: yes"

    texts = [f"question {i}\n@reply yes" for i in range(200)]
    good = [answer("good+accuracy=0.9", t) for t in texts]
    for t, a in zip(texts, good):
        eq(a, expected(0, "good", t, 0.9), f"accuracy=0.9 draw for {t!r}")
    right = sum(a == "yes" for a in good)
    check(160 <= right <= 195, f"accuracy=0.9: {right}/200 right")
    eq(good[:20], [answer("good+accuracy=0.9", t) for t in texts[:20]], "accuracy draws repeat")
    eq(answer("m+accuracy=0", texts[0]), "wrong: yes", "accuracy=0 always wrong")
    eq(answer("m+accuracy=1", texts[0]), "yes", "accuracy=1 always right")
    eq(answer("m+accuracy=0.5+seed=7", texts[3]), expected(7, "m", texts[3], 0.5), "seed=7")
    eq(answer("m+accuracy=0", "no reply line"), "echo: no reply line", "accuracy leaves echo alone")
    eq(chat("m+accuracy=1.5", "hi").status, 400, "accuracy above 1")


def test_directive_errors():
    for model in ("m+nope", "m+nope=1", "m+fail=abc", "m+latency=-1", "m+limit=0", "m++garbage", "m+seed=x"):
        r = chat(model, "hi")
        eq(r.status, 400, f"bad directive {model!r}")
        check("fake_llm" in r.json()["error"]["message"], f"{model!r}: message")


def test_keepalive_and_stats():
    reset()
    conn = RawConn()
    for i in range(5):
        r = conn.request("POST", "/v1/chat/completions",
                         {"model": "m", "messages": [{"role": "user", "content": f"n {i}"}]})
        eq(r.status, 200, f"keep-alive request {i}")
    s = stats()
    eq((s["requests"], s["connections"], s["by_path"], s["by_status"]),
       (5, 1, {"/v1/chat/completions": 5}, {"200": 5}), "stats after 5 keep-alive requests")
    r = conn.request("POST", "/generic", {"input": "bye"}, headers={"Connection": "close"})
    eq((r.status, r.headers.get("connection")), (200, "close"), "Connection: close response")
    check(conn.at_eof(), "server did not close after Connection: close")
    conn.close()
    check(stats()["connections_total"] >= 2, "connections_total")


def test_concurrency():
    reset()
    count = 300
    conns = [RawConn() for _ in range(count)]
    barrier = threading.Barrier(count)
    statuses = [None] * count

    def worker(i):
        barrier.wait()
        statuses[i] = conns[i].request("POST", "/v1/chat/completions", {
            "model": "m+latency=300", "messages": [{"role": "user", "content": "hi"}]}).status

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in conns:
        c.close()
    eq(statuses.count(200), count, "concurrent requests answered 200")
    s = stats()
    eq(s["connections"], count, "concurrent connections counted")
    check(s["peak_inflight"] >= count // 3, f"peak_inflight {s['peak_inflight']} too low")

    # Throughput over a few keep-alive connections (the client's GIL is the limit here).
    per_conn, nconn = 300, 4
    request = {"model": "m", "messages": [{"role": "user", "content": "speed"}]}

    def loader():
        c = RawConn()
        for _ in range(per_conn):
            check(c.request("POST", "/v1/chat/completions", request).status == 200, "load")
        c.close()

    started = time.monotonic()
    loaders = [threading.Thread(target=loader) for _ in range(nconn)]
    for t in loaders:
        t.start()
    for t in loaders:
        t.join()
    rate = per_conn * nconn / (time.monotonic() - started)
    if VERBOSE:
        print(f"   {rate:.0f} requests/s over {nconn} keep-alive connections")
    check(rate > 200, f"throughput only {rate:.0f} requests/s")


def test_reset():
    chat("m", "hi")
    reset()
    eq(http("GET", "/_requests").json(), [], "/_requests after reset")
    s = stats()
    eq((s["requests"], s["by_path"], s["by_status"], s["connections"]), (0, {}, {}, 0),
       "stats after reset")


def test_process_lifecycle():
    # SIGTERM ends the server with status 0.
    other = ServerProcess()
    other.proc.send_signal(signal.SIGTERM)
    eq(other.wait(5), 0, "exit status after SIGTERM")
    # Only loopback addresses may be bound.
    bad = subprocess.run([sys.executable, SERVER, "--host", "0.0.0.0"], capture_output=True,
                         timeout=10)
    check(bad.returncode != 0 and b"READY" not in bad.stdout, "--host 0.0.0.0 was accepted")


TESTS = [test_health, test_openai, test_reply_and_truncation, test_anthropic, test_ollama,
         test_generic, test_embeddings, test_webhook_and_records, test_fail_counts, test_auth, test_garbage,
         test_latency_and_hang, test_drop, test_limit, test_accuracy, test_directive_errors,
         test_keepalive_and_stats, test_concurrency, test_reset, test_process_lifecycle]


def main():
    global BASE, PORT
    started = time.monotonic()
    try:
        server = ServerProcess("--exit-on-stdin-eof")
    except Failure as e:
        print(f"FAIL start-up: {e}")
        return 1
    BASE, PORT = server.base, server.port
    failures = 0
    try:
        for test in TESTS:
            t0 = time.monotonic()
            try:
                test()
                if VERBOSE:
                    print(f"ok   {test.__name__} ({time.monotonic() - t0:.2f}s)")
            except Exception as e:  # report every failing check, not just the first
                failures += 1
                detail = e if isinstance(e, Failure) else f"{type(e).__name__}: {e}"
                print(f"FAIL {test.__name__}: {detail}")
        # Closing stdin ends a server started with --exit-on-stdin-eof.
        server.proc.stdin.close()
        rc = server.wait(5)
        if rc != 0:
            failures += 1
            print(f"FAIL --exit-on-stdin-eof: exit status {rc}")
        if server.stderr_text():
            failures += 1
            print(f"FAIL server wrote to stderr:\n{server.stderr_text()}")
    finally:
        server.kill()
    elapsed = time.monotonic() - started
    if failures:
        print(f"selftest: {failures} of {len(TESTS)} groups failed ({elapsed:.1f}s)")
        return 1
    print(f"selftest: all {len(TESTS)} groups passed ({elapsed:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
