"""
Run every benchmark module ``bench/bench_*.py`` (or the names given) in its own process and print figures.

Usage: ``python -m bench [NAME ...]`` e.g. ``python -m bench strategy``. The first line names the host and its
time for a fixed reference workload (``bench/host.py``): figures from different hosts compare after scaling by it.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).resolve().parent
    modules = sorted(p.stem for p in here.glob("bench_*.py"))
    if argv:
        wanted = {a if a.startswith("bench_") else f"bench_{a}" for a in argv}
        unknown = wanted - set(modules)
        if unknown:
            print(f"unknown benchmark(s): {', '.join(sorted(unknown))}; have: {', '.join(modules)}")
            return 2
        modules = [m for m in modules if m in wanted]
    subprocess.call([sys.executable, "-m", "bench.host"], cwd=here.parent)
    failed = []
    for name in modules:
        print(f"\n=== {name} ===", flush=True)
        t0 = time.perf_counter()
        rc = subprocess.call([sys.executable, "-m", f"bench.{name}"], cwd=here.parent)
        print(f"--- {name}: exit {rc}, {time.perf_counter() - t0:.1f} s wall", flush=True)
        if rc != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
