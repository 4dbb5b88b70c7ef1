"""SSE decoder time per MB for one long line fed in 64 KiB reads: linear, or not.

A hostile gateway can send one ``data:`` line of hundreds of MB. A decoder that
re-joins the pending tail with each new read copies the whole line again every
time (quadratic: 0.5 s at 5 MB, 26 s at 40 MB before the fix). Ours keeps the
pieces and joins them once, when the line ends, so the time per MB stays flat.

For each size (1, 10 and 100 MB by default) the line is fed in 64 KiB pieces to a
decoder whose bound is above it, then the blank line that ends the event; the
best of a few runs is kept (less noise from other processes than a median on a
shared machine). The last line compares the time per MB of the largest size with
that of the smallest: about 1x is linear, 10x per size step would be quadratic.

Run ``python bench/sse_decoder.py``; ``--sizes 1,10`` for a quicker run,
``--runs N`` for more tries per size. See bench/README.md.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time

from alltoken_agent.gateway.sse import SSEDecoder

PIECE = 64 * 1024
MB = 1024 * 1024


def feed_one_line(size_mb: int) -> float:
    """Seconds of CPU to decode one ``data:`` line of ``size_mb`` MB fed in 64 KiB reads."""
    piece = b"a" * PIECE
    pieces = size_mb * MB // PIECE
    decoder = SSEDecoder(max_line=(size_mb + 1) * MB)
    gc.collect()
    gc.disable()
    try:
        start = time.process_time()
        decoder.feed(b"data: ")
        for _ in range(pieces):
            decoder.feed(piece)
        out = decoder.feed(b"\n\n")
        elapsed = time.process_time() - start
    finally:
        gc.enable()
    if len(out) != 1 or len(out[0][1]) != pieces * PIECE:
        raise SystemExit(f"decoder returned the wrong message for {size_mb} MB")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    """Print time per MB for each size, then the ratio of the largest to the smallest."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,10,100", help="MB per line, comma-separated")
    parser.add_argument("--runs", type=int, default=3, help="tries per size (best kept)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    per_mb: dict[int, float] = {}
    print(f"{'line':>8}  {'best s':>8}  {'ms per MB':>10}")
    for size in sizes:
        best = min(feed_one_line(size) for _ in range(max(1, args.runs)))
        per_mb[size] = best / size
        print(f"{size:>5} MB  {best:>8.3f}  {per_mb[size] * 1000:>10.2f}")
    smallest, largest = min(sizes), max(sizes)
    ratio = per_mb[largest] / per_mb[smallest] if per_mb[smallest] else float("nan")
    print(
        f"time per MB at {largest} MB / at {smallest} MB: {ratio:.2f}x "
        f"(linear ~1x; quadratic would be ~{largest / smallest:g}x)"
    )
    print(f"Python {sys.version.split()[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
