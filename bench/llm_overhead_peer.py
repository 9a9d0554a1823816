#!/usr/bin/env python3
"""The peers of mlops-llm-overhead: the same chat calls made through Python LLM
clients, against the same instant server, with CPU per call measured in this
process (resource.getrusage, user + sys, every thread). Used by
bench/run-llm-overhead; runs in a virtualenv that has the client installed.

  llm_overhead_peer.py --url http://127.0.0.1:PORT --client openai|openai-async|litellm
                       [--calls N] [--rounds R] [--warmup W] [--concurrency C]

openai        the official SDK, OpenAI().chat.completions.create, one call at a time
openai-async  AsyncOpenAI with C calls in flight (asyncio.gather under a semaphore)
litellm       litellm.completion("openai/gpt-4o-mini", ...), one call at a time

The calls run in R rounds (default 5), as in mlops-llm-overhead. Prints one JSON
object: cpu_us_per_call (the median of the rounds), its best round and mean,
thread_cpu_us_per_call, calls_per_s, and the set-up (import and client
construction) timed apart.
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time


def cpu_us():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return (ru.ru_utime + ru.ru_stime) * 1e6


def messages(tag, i):
    # The same prompt mlops-llm-overhead sends.
    return [
        {"role": "system", "content": "You are a concise assistant. Answer in one sentence."},
        {"role": "user", "content": f"Question {tag}-{i}: what is the capital of France?"},
    ]


def check(resp):
    if not resp.choices[0].message.content or not resp.usage.prompt_tokens:
        sys.exit("llm_overhead_peer: an answer has no text or usage")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--client", required=True, choices=["openai", "openai-async", "litellm"])
    ap.add_argument("--calls", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=16)
    a = ap.parse_args()
    base = a.url.rstrip("/") + "/v1"
    key = "sk-bench-0000000000000000000000000000"
    kw = dict(model="gpt-4o-mini", temperature=0.0, max_tokens=64)

    c0, w0 = cpu_us(), time.perf_counter()
    if a.client == "litellm":
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no download of the price map
        import litellm

        version = getattr(litellm, "__version__", None)
        if version is None:
            from importlib.metadata import version as v

            version = v("litellm")

        def call(tag, i):
            return litellm.completion(model="openai/gpt-4o-mini", api_base=base, api_key=key,
                                      messages=messages(tag, i), temperature=0.0, max_tokens=64)
    else:
        import openai

        version = openai.__version__
        if a.client == "openai":
            client = openai.OpenAI(base_url=base, api_key=key)

            def call(tag, i):
                return client.chat.completions.create(messages=messages(tag, i), **kw)
        else:
            import asyncio

            client = openai.AsyncOpenAI(base_url=base, api_key=key)
    setup = {"import_and_client_ms": (time.perf_counter() - w0) * 1000, "cpu_ms": (cpu_us() - c0) / 1000}

    def run_sync(tag, n):
        for i in range(n):
            check(call(tag, i))

    def run_async(tag, n):
        async def go():
            sem = asyncio.Semaphore(a.concurrency)

            async def one(i):
                async with sem:
                    check(await client.chat.completions.create(messages=messages(tag, i), **kw))

            await asyncio.gather(*(one(i) for i in range(n)))

        loop.run_until_complete(go())

    if a.client == "openai-async":
        loop = asyncio.new_event_loop()  # one loop for both runs: the client's connections stay in it
        run = run_async
    else:
        run = run_sync
    run("pw", a.warmup)
    per = a.calls // a.rounds
    rounds, cpu, thread, wall = [], 0.0, 0.0, 0.0
    for r in range(a.rounds):
        c0, t0, w0 = cpu_us(), time.thread_time(), time.perf_counter()
        run(f"p{r}", per)
        dc = cpu_us() - c0
        rounds.append(dc / per)
        cpu, thread, wall = cpu + dc, thread + (time.thread_time() - t0) * 1e6, wall + time.perf_counter() - w0
    n = per * a.rounds
    print(json.dumps({
        "client": a.client, "version": version, "python": sys.version.split()[0], "calls": n,
        "concurrency": a.concurrency if a.client == "openai-async" else 1,
        "cpu_us_per_call": statistics.median(rounds), "cpu_us_per_call_min": min(rounds),
        "cpu_us_per_call_mean": cpu / n, "cpu_us_per_call_rounds": rounds, "thread_cpu_us_per_call": thread / n,
        "calls_per_s": n / wall, "wall_s": wall, "setup": setup,
    }))


if __name__ == "__main__":
    main()
