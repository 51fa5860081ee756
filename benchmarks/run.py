"""Benchmarks of the solvers and of studies: `python benchmarks/run.py [--tiny] [--only KEY,...] [--render]`.

Writes results/benchmarks.json and docs/performance.md.  Every target is a ratio or a time measured within
its own section of one run, on this machine (recorded), and reported as met or missed: never asserted (this
is not a test; tests/test_benchmarks.py runs it on tiny sizes).  The sections live in bench_*.py beside this
file; adding one is a `Section` in SECTIONS (see bench_harness).  `--only` measures some sections again and
keeps the others' last numbers; `--render` rewrites the report from the JSON without measuring.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import bench_planned as planned  # noqa: E402
import bench_solvers as solvers  # noqa: E402
import bench_stack as stack  # noqa: E402
import bench_studies as studies  # noqa: E402
from bench_harness import ROOT, Section, kept_sections, machine, render, run_section  # noqa: E402

SECTIONS = [
    Section("native_vs_fipy", "Native Newton vs the FiPy solver (same mesh, same problem data)",
            solvers.measure_native_vs_fipy, solvers.report_native_vs_fipy, solvers.targets_native_vs_fipy,
            pending=["native vs FiPy speed-up, default case (target ≥ 30)"]),
    Section("scaling", "Scaling of the native equilibrium solve (target ≤ 1.3× per cell and doubling)",
            solvers.measure_scaling, solvers.report_scaling, solvers.targets_scaling),
    Section("lapack_floor", "Native equilibrium against the LAPACK floor (target ≤ 2.5×)",
            solvers.measure_lapack_floor, solvers.report_lapack_floor, solvers.targets_lapack_floor),
    Section("transient", "Galvanostatic transient (target ≤ 2 s)",
            solvers.measure_transient, solvers.report_transient, solvers.targets_transient),
    Section("transient_scaling", "Transients against refinement (uniform meshes of 200-25,600 cells; target "
            "≤ 2.3× per doubling)",
            solvers.measure_transient_scaling, solvers.report_transient_scaling, solvers.targets_transient_scaling),
    Section("impedance", "Impedance spectrum (target ≤ 0.5 s)",
            solvers.measure_impedance, solvers.report_impedance, solvers.targets_impedance),
    Section("steady_current", "Steady state under current by Newton, 10,000 cells (target ≤ 2 s), and its spectrum",
            planned.measure_steady_current, planned.report_steady_current, planned.targets_steady_current,
            pending=["steady state under current, 10,000 cells (target ≤ 2 s)"]),
    Section("model_fit", "Fitting the model to a spectrum: 3 parameters, 60 frequencies, ≤ 500 cells (target ≤ 10 s)",
            planned.measure_model_fit, planned.report_model_fit, planned.targets_model_fit,
            pending=["3-parameter fit to a 60-frequency spectrum, ≤ 500 cells (target ≤ 10 s)"]),
    Section("sweep_throughput", "Sweep throughput: 200 small equilibrium cases",
            studies.measure_sweep_throughput, studies.report_sweep_throughput, studies.targets_sweep_throughput),
    Section("shipped_sweeps", "Executors on the shipped sweeps, as `sim sweep` runs them (no executor slower "
            "than serial)", studies.measure_shipped_sweeps, studies.report_shipped_sweeps,
            studies.targets_shipped_sweeps),
    Section("executor_costs", "Where an executor's fixed costs go", studies.measure_executor_costs,
            studies.report_executor_costs),
    Section("sweep_profile", "Where a serial sweep and a `sim run` spend their time",
            studies.measure_sweep_profile, studies.report_sweep_profile),
    Section("energy", "Energy-density evaluation (target ≥ 1e6 designs/s)",
            stack.measure_energy, stack.report_energy, stack.targets_energy),
    Section("devsim", "DEVSIM on the same one-sided problem (optional)",
            solvers.measure_devsim, solvers.report_devsim),
    Section("profile", "Where a native solve of the default case spends its time",
            solvers.measure_profile, solvers.report_profile),
]

NOTES = [
    "Notes:",
    "- No comparison against an older commit any more. Until the numba kernels were removed this report checked "
    "out main before issue 14 (593a830) and timed `sim run` and a serial sweep on it in the same run. Those were "
    "issue 14's targets (met: 0.39× and 5.3×); that code computes another model (before the laws of issue 25 "
    "and the mobility laws, and issue 26 changes the physics again), so the ratio would mix physics with speed, "
    "and it added minutes and a second source tree to every run. Section 11 keeps the absolute numbers (a `sim "
    "run`, a serial sweep's profile), and every target is a ratio within this run.",
    "- FiPy's cost is dominated by building its terms and sparse matrices every sweep; the native solver "
    "assembles the banded Jacobian with vectorized NumPy and solves it with LAPACK gbsv.",
]

DEFAULT_OUT = ROOT / "results" / "benchmarks.json"
DEFAULT_MD = ROOT / "docs" / "performance.md"


def write_report(res, md):
    """Write the markdown report of `res` to md, keeping the hand-written sections of the old one."""
    md = Path(md)
    old = md.read_text() if md.exists() else ""
    md.write_text(render(res, SECTIONS, kept_sections(old), NOTES))


def run(tiny=False, out=DEFAULT_OUT, md=DEFAULT_MD, only=None):
    """Measure every section (or those in `only`, keeping the others from `out`), write `out` and `md`."""
    out = Path(out)
    res = json.loads(out.read_text()) if only and out.exists() else {}
    res.update(machine=machine(), tiny=tiny)
    for sec in SECTIONS:
        if only and sec.key not in only:
            continue
        print(f"{sec.key} ...", flush=True)
        res[sec.key] = run_section(sec, tiny)
        print(f"{sec.key}: {res[sec.key].get('status', 'measured')} in {res[sec.key]['benchmark_s']:.1f} s", flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2, default=float))
    if md:
        write_report(res, md)
    return res


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiny", action="store_true", help="tiny sizes (a smoke run; the numbers mean nothing)")
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    ap.add_argument("--md", default=str(DEFAULT_MD), help="markdown report ('' for none)")
    ap.add_argument("--only", default="", help="comma-separated section keys to measure: "
                    + ", ".join(s.key for s in SECTIONS))
    ap.add_argument("--render", action="store_true",
                    help="measure nothing: write the markdown report again from the JSON of the last run")
    a = ap.parse_args()
    only = [k for k in a.only.split(",") if k]
    unknown = set(only) - {s.key for s in SECTIONS}
    if unknown:
        ap.error(f"unknown section(s) {sorted(unknown)}; one of {[s.key for s in SECTIONS]}")
    t0 = time.perf_counter()
    if a.render:
        write_report(json.loads(Path(a.out).read_text()), a.md)
    else:
        run(a.tiny, a.out, a.md or None, only)
        print(f"benchmarks: {time.perf_counter() - t0:.0f} s")
