"""Is the host fit for a measure? A fixed CPU loop, timed alone and then twice at once.

The benches' ratios compare two runs of the same minutes, but both sides use the two cores
(web workers and PostgreSQL, or the EDI reading thread and PostgreSQL). On a shared host the
two virtual cores can slow each other down, or the whole host can slow down for a while: the
load average does not show it, since it only counts this machine's own processes. On 07/12/2026
(tenth session) this loop took 0.13 to 0.27 s alone from one check to the next, two copies at
once ran up to 1.54 times slower than one, and the EDI ratio of the code measured at 1.47 that
morning rose to 1.84-2.40.

    python bench/host.py          # prints the check; the benches print it before and after
"""
from __future__ import annotations

import multiprocessing
import statistics
import time

LOOP = 4_000_000  # ≈ 0.15-0.3 s of one core on the bench machine


def _spin(_=None) -> float:
    start = time.perf_counter()
    total = 0
    for i in range(LOOP):
        total += i
    return time.perf_counter() - start


def check(rounds: int = 3) -> dict:
    """Seconds of the loop alone, and of each of two copies run at once (`rounds` times each),
    and the slowdown of the pair: median pair time / median alone. Near 1.0: both cores
    run at full speed together; 1.3 and more: the host's cores are shared or busy."""
    alone = [_spin() for _ in range(rounds)]
    with multiprocessing.get_context("fork").Pool(2) as pool:
        pairs = [t for _ in range(rounds) for t in pool.map(_spin, (0, 1))]
    return {"alone_s": [round(t, 3) for t in alone], "pair_s": [round(t, 3) for t in pairs],
            "slowdown": round(statistics.median(pairs) / statistics.median(alone), 2)}


def describe(result: dict) -> str:
    alone, pair = result["alone_s"], result["pair_s"]
    return (f"boucle de référence seule {min(alone):.2f}–{max(alone):.2f} s, deux à la fois "
            f"{min(pair):.2f}–{max(pair):.2f} s : ralentissement ×{result['slowdown']:.2f}")


if __name__ == "__main__":
    print("hôte :", describe(check()))
