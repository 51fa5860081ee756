"""Figure drawing against solving: `python benchmarks/figures.py [--formats pdf,png] [--jobs 1,auto]`.

For every demo case (cases/*.toml, cases/verification/*.toml, cases/sweeps/*.toml) it times the run
(solve and write, `run_case` / `run_sweep`) and then `sim.figures.render_all` on the written file,
once per --jobs value, and prints a markdown table with the totals.  matplotlib and the kinds'
figure modules are imported before any timing (a `sim demo` pays that import once).  Not a test:
nothing is asserted; single timings on a shared machine scatter by tens of per cent.
"""
from __future__ import annotations

import argparse
import inspect
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402  (dask's dependency: CPU time of the live figure workers)

from sim.case import load_case  # noqa: E402
from sim.figures import render_all  # noqa: E402
from sim.run import run_case  # noqa: E402
from sim.studies import run_sweep  # noqa: E402


def _cases():
    cases = sorted((ROOT / "cases").glob("*.toml")) + sorted((ROOT / "cases" / "verification").glob("*.toml"))
    return [(p, "case") for p in cases] + [(p, "sweep") for p in sorted((ROOT / "cases" / "sweeps").glob("*.toml"))]


def _cpu():
    """CPU seconds of this process and of its children, finished (sweep pools) or alive (the figure
    workers, which live as long as this process)."""
    me, done = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    alive = 0.0
    for child in psutil.Process().children(recursive=True):
        try:
            t = child.cpu_times()
            alive += t.user + t.system
        except psutil.Error:
            pass
    return me.ru_utime + me.ru_stime + done.ru_utime + done.ru_stime + alive


def _render(h5, out, formats, jobs):
    kwargs = {"jobs": jobs} if "jobs" in inspect.signature(render_all).parameters else {}
    t0, c0 = time.perf_counter(), _cpu()
    n = len(render_all(h5, out, formats, **kwargs))
    return time.perf_counter() - t0, n, _cpu() - c0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--formats", default="pdf,png")
    ap.add_argument("--jobs", default="1,auto", help="comma-separated values of render_all's jobs (1 = in process)")
    a = ap.parse_args(argv)
    formats = tuple(a.formats.split(","))
    jobs = [None if j == "auto" else int(j) for j in a.jobs.split(",")]
    import sim.kinds.pnp.figures, sim.kinds.pnp.impedance_figures, sim.kinds.energy_density.figures  # noqa: E401,F401
    import sim.kinds.design_map.figures, sim.kinds.polarization.figures, sim.studies.figures  # noqa: E401,F401
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for path, what in _cases():
            h5 = Path(tmp) / f"{path.stem}.h5"
            t0, c0 = time.perf_counter(), _cpu()
            if what == "case":
                run_case(load_case(path), h5)
            else:
                run_sweep(path, h5, executor="auto", progress=False)
            solve, solve_cpu = time.perf_counter() - t0, _cpu() - c0
            draws = [_render(h5, Path(tmp) / f"{path.stem}_{j}", formats, j) for j in jobs]
            rows.append((path.relative_to(ROOT), solve, solve_cpu, draws))
            print(f"{path.relative_to(ROOT)}: run {solve:.2f} s, figures "
                  + ", ".join(f"jobs={j or 'auto'} {t:.2f} s ({n} files, {c:.1f} s CPU)"
                              for j, (t, n, c) in zip(jobs, draws)), file=sys.stderr)
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end; wall time (CPU time, workers included)")
    head = "| case | run (solve + write) | " + " | ".join(f"figures, jobs = {j or 'auto'}" for j in jobs) + " |"
    print(head)
    print("|---" * (2 + len(jobs)) + "|")
    for name, solve, solve_cpu, draws in rows:
        print(f"| {name} | {solve:.2f} s ({solve_cpu:.2f} s) | "
              + " | ".join(f"{t:.2f} s ({c:.2f} s), {n} files" for t, n, c in draws) + " |")
    print(f"| total | {sum(r[1] for r in rows):.1f} s ({sum(r[2] for r in rows):.1f} s) | "
          + " | ".join(f"{sum(r[3][k][0] for r in rows):.1f} s ({sum(r[3][k][2] for r in rows):.1f} s)"
                       for k in range(len(jobs))) + " |")


if __name__ == "__main__":
    main()
