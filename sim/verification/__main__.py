"""Every figure of docs/figures in one command: `python -m sim.verification all [OUT_DIR]`
(or `make docs-figures`); one part: `python -m sim.verification limits|defects|impedance|studies [OUT_DIR]`.

The parts compute one after another while worker processes write the figures of the parts before
(`sim.figures.pool`); each prints the numbers docs/validation.md quotes.
"""
from __future__ import annotations

import argparse
import importlib
import sys
import time

PARTS = ("limits", "defects", "impedance", "studies")


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m sim.verification", description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=("all",) + PARTS, help="all, or one part")
    ap.add_argument("out_dir", nargs="?", default="docs/figures", help="folder for the figures (default: docs/figures)")
    a = ap.parse_args(argv)
    from sim.errors import SimError
    from sim.figures.pool import parallel
    try:
        with parallel():
            for part in PARTS if a.what == "all" else (a.what,):
                t0 = time.perf_counter()
                print(f"== {part}", flush=True)
                importlib.import_module(f"sim.verification.{part}").main(a.out_dir)
                print(f"== {part}: {time.perf_counter() - t0:.1f} s", flush=True)
    except SimError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
