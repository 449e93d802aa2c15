"""
The SDK's own CPU per request, with no network: ``send_message`` N times through an
``httpx.MockTransport`` that answers at once, so that the request path (checks, the Request
value, the rate limit, the send gate, the attempt, the decoding, the outcome) is all there is.

    python -m benchmarks.bench_request_cpu                      # this checkout, ~10 s
    PYTHONPATH=/path/to/other/checkout python -m benchmarks.bench_request_cpu --label base

It prints CPU microseconds per request (the median of ``--rounds`` rounds, with the range) for
the default send gate and, where this version has one, ``send_gate="local"``. To compare two
versions of the package, run it alternately from each in the same session (the figures of one
run on these shared machines are noise): only a difference beyond the ranges means anything.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from typing import Any

import anyio
import httpx

import miogram_async
from miogram_async import MioGram


def _instant(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"Result": "true"})


async def _per_request(count: int, options: dict[str, Any]) -> float:
    """CPU microseconds per send_message, after a warm-up."""
    transport = httpx.MockTransport(_instant)
    async with MioGram("bench-secret-0000", transport=transport, max_retries=0, **options) as c:
        for _ in range(200):
            await c.send_message("+989121234567", "hi")
        started = time.process_time()
        for _ in range(count):
            await c.send_message("+989121234567", "hi")
        return (time.process_time() - started) / count * 1e6


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--label", default="this checkout")
    args = parser.parse_args()
    # The machine-wide gate of a client that names none lives here (not the user's own).
    os.environ["XDG_RUNTIME_DIR"] = tempfile.mkdtemp()
    gates: dict[str, dict[str, Any]] = {"default gate": {}}
    gates["send_gate='local'"] = {"send_gate": "local"}
    print(f"{args.label}: {miogram_async.__file__}")
    for name, options in gates.items():
        try:
            figures = [anyio.run(_per_request, args.count, options) for _ in range(args.rounds)]
        except (TypeError, miogram_async.ValidationError):
            print(f"  {name:<18} (not in this version)")
            continue
        print(
            f"  {name:<18} {statistics.median(figures):6.1f} us/request "
            f"({min(figures):.1f}-{max(figures):.1f}, {args.rounds} rounds of {args.count})"
        )


if __name__ == "__main__":
    main()
