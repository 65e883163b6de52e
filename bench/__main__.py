"""Run the benchmarks: python -m bench [--quick] [--synchronous=normal] [--env=K=V]
[--logs=DIR] [api | throughput] [publish] [load].

Every goal of the performance issue is printed as a figure next to its target as it
is measured, and all of them again at the end. `--quick` runs smaller sizes and
finishes in under a minute (indicative figures; the full run is the one to quote).
"""

from __future__ import annotations

import asyncio
import compileall
import sys
import time
from pathlib import Path

from bench import common


def main() -> None:
    args = sys.argv[1:]
    common.QUICK = "--quick" in args
    for arg in args:
        if arg.startswith("--synchronous="):
            common.SERVER_ENV["OCTOPOST_DATABASE_SYNCHRONOUS"] = arg.partition("=")[2]
        elif arg.startswith("--env="):  # --env=OCTOPOST_SERVER_LOG_LEVEL=info
            name, _, value = arg.removeprefix("--env=").partition("=")
            common.SERVER_ENV[name] = value
        elif arg.startswith("--logs="):  # keep each service's stderr in this directory
            common.LOG_DIR = arg.partition("=")[2]
    which = [a for a in args if not a.startswith("--")] or ["api", "publish", "load"]
    from bench import api, load, publish  # after QUICK is set

    # Octopost's bytecode compiled first, as an installed Octopost has it (pip and the
    # image compile at install): with PYTHONDONTWRITEBYTECODE set, as on the CI machine,
    # every service start would otherwise compile ~150 modules and the start-up figure
    # would measure that.
    compileall.compile_dir(Path(__file__).resolve().parent.parent / "octopost", quiet=1)

    started = time.perf_counter()
    print(
        f"Octopost benchmark ({'quick' if common.QUICK else 'full'}): {' '.join(which)} "
        f"{common.SERVER_ENV or ''}"
    )
    if "api" in which:
        asyncio.run(api.main())
    if "throughput" in which:  # only the create/get comparison of `api`
        asyncio.run(api.throughput())
    if "publish" in which:
        asyncio.run(publish.main())
    if "load" in which:
        asyncio.run(load.main())
    print(f"\n== Goals ({time.perf_counter() - started:.0f} s) ==")
    for found in common.GOALS:
        print("  " + found.line())
    met = sum(g.met for g in common.GOALS)
    print(f"  {met} of {len(common.GOALS)} met")


main()
