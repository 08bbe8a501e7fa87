"""Benchmark the llama.cpp backend against bare llama-cpp-python, side by side.

Same model, prompt, context size, threads and sampling settings for both; reports
prompt-processing and generation tokens a second (overhead of the appliance's
backend, target <= 5 %) and the time to first token of a second call that shares the
system prompt, with and without prefix (KV) reuse.

The bare library runs in a process of its own, on that process's main thread, as a
script would call it. Both sides in one process would skew the figures: llama.cpp
parallelises each token with OpenMP, which keeps a pool of worker threads per calling
thread and cuts its spin-waits short once more of them exist than CPUs. A bare call
on the main thread leaves its pool alive, and each backend call (on a thread of its
own) then ran a quarter slower (measured on 2 cores: 21 against 28 tokens a second).

    .venv/bin/python scripts/bench/bench_llm.py [--model NAME] [--repeats N]
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from harness import Bench  # noqa: E402

from appliance.config import load_settings  # noqa: E402
from appliance.llm.llama_cpp_backend import (  # noqa: E402
    LlamaCppBackend,
    LlamaCppOptions,
)
from appliance.llm.manifests import load_manifest  # noqa: E402
from tests.fakes.scrubbed_prompts import scrubbed_prompt  # noqa: E402

SYSTEM = (
    "You are a senior analyst in a security operations centre. You read Cortex XDR "
    "incidents, their alerts, causality chains and MITRE ATT&CK techniques, and you "
    "answer with a short, precise triage note: what happened, which hosts and users "
    "are involved (by pseudonym), how severe it is and what to do next. "
) * 3
USER = (
    "Incident 4411: alert 'Suspicious PowerShell encoded command' on HOST_1 by USER_1; "
    "parent process WINWORD.EXE; network connection to IP_1 port 443; technique "
    "T1059.001. Second alert 'Credential dumping' on HOST_1 one minute later."
)
N_CTX = 2048


def bare_run(
    llm: Any, tokens: list[int], max_tokens: int, reset: bool
) -> dict[str, float]:
    """Run bare llama-cpp-python on prompt tokens; return timings and counts."""
    from llama_cpp import StoppingCriteriaList

    first: list[float] = []

    def mark(_ids: Any, _logits: Any) -> bool:
        if not first:
            first.append(time.perf_counter())
        return False

    if reset:
        llm.reset()
    start = time.perf_counter()
    result = llm.create_completion(
        prompt=tokens,
        max_tokens=max_tokens,
        temperature=0.0,
        top_p=0.95,
        top_k=40,
        min_p=0.05,
        repeat_penalty=1.1,
        seed=1,
        stopping_criteria=StoppingCriteriaList([mark]),
    )
    end = time.perf_counter()
    return {
        "prompt_tokens": result["usage"]["prompt_tokens"],
        "completion_tokens": result["usage"]["completion_tokens"],
        "ttft": first[0] - start,
        "duration": end - start,
    }


def bare_process(conn: Connection, path: str, n_ctx: int, threads: int) -> None:
    """Serve bare runs in a process of its own: (tokens, max tokens) in, timings out."""
    from llama_cpp import Llama

    llm = Llama(
        model_path=path,
        n_ctx=n_ctx,
        n_threads=threads,
        n_threads_batch=threads,
        verbose=False,
    )
    while (request := conn.recv()) is not None:
        tokens, max_tokens = request
        conn.send(bare_run(llm, tokens, max_tokens, reset=True))
    llm.close()


def appliance_run(
    backend: LlamaCppBackend, user: str, max_tokens: int
) -> dict[str, float]:
    """Run the appliance's backend; return timings and counts."""
    completion = backend.generate(
        scrubbed_prompt(user, system=SYSTEM),
        options=LlamaCppOptions(max_tokens=max_tokens, temperature=0.0, seed=1),
    )
    return {
        "prompt_tokens": completion.prompt_tokens,
        "completion_tokens": completion.completion_tokens,
        "ttft": completion.time_to_first_token_s or 0.0,
        "duration": completion.duration_s,
        "cached": completion.cached_prompt_tokens,
    }


def rates(runs: list[dict[str, float]]) -> dict[str, float]:
    """Return median prompt-processing and generation rates of several runs."""
    pp = [r["prompt_tokens"] / r["ttft"] for r in runs]
    gen = [
        (r["completion_tokens"] - 1) / (r["duration"] - r["ttft"])
        for r in runs
        if r["completion_tokens"] > 1
    ]
    return {
        "prompt_tokens": runs[0]["prompt_tokens"],
        "prompt_tokens_per_s": round(statistics.median(pp), 2),
        "generation_tokens_per_s": round(statistics.median(gen), 2) if gen else 0.0,
        "median_ttft_s": round(statistics.median(r["ttft"] for r in runs), 3),
    }


def main() -> None:
    """Run the benchmark and print its JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="qwen2.5-coder-1.5b-instruct")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=32)
    args = parser.parse_args()

    settings = load_settings()
    manifest = load_manifest(args.model, settings)
    if not manifest.resolve_path(settings).exists():
        manifest = load_manifest("smollm2-135m-instruct", settings)
    bench = Bench("llm")
    bench.record("model", manifest.name)

    fresh = LlamaCppBackend(settings, n_ctx=N_CTX, prefix_reuse=False)
    fresh.load(manifest)
    bench.record("threads", fresh.threads)
    messages = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": USER},
    ]
    tokens = fresh.tokenize_prompt(messages)

    spawn = multiprocessing.get_context("spawn")
    ours_end, bare_end = spawn.Pipe()
    bare_llm = spawn.Process(
        target=bare_process,
        args=(bare_end, str(manifest.resolve_path(settings)), N_CTX, fresh.threads),
    )
    bare_llm.start()

    def bare_call(max_tokens: int) -> dict[str, float]:
        ours_end.send((tokens, max_tokens))
        result: dict[str, float] = ours_end.recv()
        return result

    appliance_run(fresh, USER, 2)  # warm-up, both sides
    bare_call(2)
    ours, bare = [], []
    for _ in range(args.repeats):
        # Interleaved, so drift in machine load hits both sides alike.
        ours.append(appliance_run(fresh, USER, args.max_tokens))
        bare.append(bare_call(args.max_tokens))
    ours_end.send(None)
    bare_llm.join()
    ours_rates, bare_rates = rates(ours), rates(bare)
    bench.record("appliance_backend", ours_rates)
    bench.record("bare_llama_cpp", bare_rates)
    bench.record(
        "overhead_percent",
        {
            key: round(100 * (1 - ours_rates[key] / bare_rates[key]), 2)
            for key in ("prompt_tokens_per_s", "generation_tokens_per_s")
            if bare_rates[key]
        },
    )

    # Second call, same system prompt, another incident: with and without reuse.
    second_user = USER.replace("4411", "4412").replace("HOST_1", "HOST_2")
    without = [
        appliance_run(fresh, second_user, 1)["ttft"] for _ in range(args.repeats)
    ]
    fresh.unload()
    reuse = LlamaCppBackend(settings, n_ctx=N_CTX, prefix_reuse=True)
    reuse.load(manifest)
    with_reuse, cached = [], []
    for n in range(args.repeats):
        appliance_run(reuse, USER.replace("4411", f"50{n}"), 1)
        run = appliance_run(reuse, second_user, 1)
        with_reuse.append(run["ttft"])
        cached.append(run["cached"])
    reuse.unload()
    bench.record(
        "second_call_ttft_s",
        {
            "prompt_tokens": len(tokens),
            "without_prefix_reuse": round(statistics.median(without), 3),
            "with_prefix_reuse": round(statistics.median(with_reuse), 3),
            "cached_prompt_tokens": min(cached),
        },
    )
    bench.report()


if __name__ == "__main__":
    main()
