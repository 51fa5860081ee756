"""Benchmark sections of the solvers: native vs FiPy, O(N) scaling, the LAPACK floor, transients,
impedance, DEVSIM and where a solve spends its time.  One evaluation path (the NumPy code on the laws of
sim/pnp/laws.py) since the numba kernels were removed; their last numbers are kept as `WITH_KERNELS`."""
from __future__ import annotations

import copy
import cProfile
import io
import json
import pstats
import subprocess
import sys
from pathlib import Path

import numpy as np

from bench_harness import ROOT, Target, interleaved, timed

from sim.case import load_case
from sim.kinds.pnp.build import build_problem, galvanostatic_problem, with_uniform_mesh
from sim.pnp import observables as obs
from sim.pnp import transient as tr
from sim.pnp.mesh import layered_mesh
from sim.pnp.newton import SolverOptions, solve_equilibrium
from sim.pnp.reference_problems import one_sided_layer

#: native vs FiPy: the agreement the independent FiPy solver must reach on the same mesh (issue 25)
FIPY_AGREEMENT = 1e-6

#: the compiled kernels' last measurement (docs/performance.md of commit b79be34, run of 2026-11-26 08:15 on
#: this machine, AMD EPYC, 2 cores), beside the NumPy path of the same run: solve times in ms of the default
#: case (lco_lno_lps, uniform mesh) and the one-sided layer (psi0 = 20), and 600 s transients in s
WITH_KERNELS = {
    "source": "the report of 2026-11-26 at commit b79be34, its sections 7 and 10",
    "equilibrium_ms": {   # problem: {cells: (NumPy path, compiled kernels)}
        "lco_lno_lps equilibrium (default case, uniform mesh)": {1002: (9.5, 2.4), 4002: (23.1, 6.2),
                                                                 16002: (126.6, 31.3), 64002: (498.5, 119.5)},
        "one-sided layer, psi0 = 20 kT/e": {1000: (5.3, 1.1), 4000: (11.6, 2.9), 16000: (36.9, 13.0),
                                            64000: (147.7, 47.2)},
    },
    "transient_s": {202: (0.34, 0.07), 402: (0.44, 0.12), 800: (0.56, 0.18), 1602: (0.98, 0.43),
                    3200: (2.10, 0.80), 6400: (3.33, 1.63), 12800: (7.67, 3.96), 25600: (16.82, 6.70)},
}

WHY_KERNELS_REMOVED = (
    "Removing the compiled kernels made large meshes slower, and this report says so: with them, solves of "
    "4k-64k cells were 2.8-4.2× faster and 3k-26k-cell transients 1.9-2.6× faster (the table's last columns, "
    "from the last run that had them). The shipped cases (200-320 cells) always ran the NumPy path and are "
    "unchanged. The kernels were a second, hand-written copy of the operator, predictor, Newton loop and LU; "
    "the model's laws now have one source (sim/pnp/laws.py) that every solver, the impedance linearization "
    "and the observables evaluate, so a change of physics is one edit; results no longer depend on which "
    "path a mesh size chose (the kernels' rounding moved R_SCL in the 11th digit and could send adaptive "
    "time steps down another branch) and are the same on every CPU; and there is no compile step (about 6 s "
    "on first use, 0.8 s to load per process) nor numba dependency.")


def _uniform_case(name, cells):
    """The parameters of cases/<name> on a uniform mesh of about `cells` cells."""
    return with_uniform_mesh(load_case(ROOT / "cases" / name).params, cells)


def _one_sided(psi0, n):
    from sim.pnp.analytic import debye_length
    lam = debye_length(9.0, 3.1e3, 298.15)
    return one_sided_layer(psi0, mesh=layered_mesh([40 * lam], 40 * lam / n, 40 * lam / n, 1.0))


def _coarse(params, tiny):
    """params with a coarse graded mesh when tiny (a smoke run), else as they are."""
    if not tiny:
        return params
    params = copy.deepcopy(params)
    params["mesh"].update(h_min_m=1e-11, h_max_m=2e-9, growth=1.3)
    return params


def rel_diff(a, b):
    """Largest relative difference of potentials and concentrations of two solutions (psi, c, ...)."""
    return float(max(np.max(np.abs(a[0] - b[0])) / np.max(np.abs(a[0])),
                     np.max(np.abs(a[1] - b[1])) / np.max(np.abs(a[1]))))


# ---------------------------------------------------------------------------------------------- FiPy

def measure_native_vs_fipy(tiny):
    from sim.pnp.fipy_solver import make_fipy_newton, solve_equilibrium_fipy
    reps_n, reps_f = (2, 1) if tiny else (7, 3)
    case = _coarse(load_case(ROOT / "cases" / "lco_lno_lps.toml").params, tiny)
    problems = {"lco_lno_lps equilibrium (default case)": build_problem(case),
                "one-sided dilute layer, psi0 = 10 kT/e": one_sided_layer(10.0)}
    rows = {}
    for name, p in problems.items():
        try:
            tf, _, b = timed(lambda: solve_equilibrium_fipy(p), reps_f)
        except Exception as e:               # the FiPy solver says which problems it cannot do
            rows[name] = {"cells": p.n, "status": f"FiPy: {type(e).__name__}: {e}"}
            continue
        tn, _, a = timed(lambda: solve_equilibrium(p), reps_n)
        rows[name] = {"cells": p.n, "native_s": tn, "fipy_s": tf, "speedup": tf / tn,
                      "newton_iterations": [a[2].newton_iterations, b[2].newton_iterations],
                      "max_relative_difference": rel_diff(a, b), "tolerance": FIPY_AGREEMENT}
    # a transient: the same fixed steps with both solvers, on the coarse mesh of the tests (76 cells): FiPy's
    # Newton on its own terms needs minutes per step on the case's graded 200-cell mesh (h_min = 2 pm)
    prm = _coarse(load_case(ROOT / "cases" / "lco_lps.toml").params, True)
    p = galvanostatic_problem(build_problem(prm, potential_V=4.0))
    psi0, c0, _ = solve_equilibrium(p)
    nsteps = 2 if tiny else 10
    opts = tr.TimeOptions(adaptive=False, dt_initial=1e-6)
    proto = tr.Galvanostatic(10.0, obs.li_index(p))
    name = f"{nsteps}-step transient, LCO|LPS at 1 mA/cm2"
    try:
        tf, _, b = timed(lambda: tr.integrate(p, psi0, c0, proto, nsteps * 1e-6, opts=opts,
                                              newton_fn=make_fipy_newton()), 1)      # FiPy: one run
        tn, _, a = timed(lambda: tr.integrate(p, psi0, c0, proto, nsteps * 1e-6, opts=opts), reps_n)
        rows[name] = {"cells": p.n, "native_s": tn, "fipy_s": tf, "speedup": tf / tn,
                      "newton_iterations": [a[2].newton_iterations, b[2].newton_iterations],
                      "max_relative_difference": rel_diff(a, b), "tolerance": FIPY_AGREEMENT}
    except Exception as e:
        rows[name] = {"cells": p.n, "status": f"FiPy: {type(e).__name__}: {e}"}
    return {"rows": rows}


def report_native_vs_fipy(r):
    L = ["Same mesh and problem data; each solver to its own convergence test. Newton iterations: native "
         "coupled Newton / FiPy sweeps (for the transient, summed over the steps).", "",
         "| problem | cells | native | FiPy | speed-up (target ≥ 30×) | iterations native/FiPy | max rel. difference "
         f"(≤ {FIPY_AGREEMENT:g}) |", "|---|---|---|---|---|---|---|"]
    for name, x in r["rows"].items():
        if "status" in x:
            L.append(f"| {name} | {x['cells']} | — | — | — | — | {x['status']} |")
            continue
        L.append(f"| {name} | {x['cells']} | {x['native_s'] * 1e3:.1f} ms | {x['fipy_s'] * 1e3:.0f} ms | "
                 f"{x['speedup']:.0f}× | {x['newton_iterations'][0]}/{x['newton_iterations'][1]} | "
                 f"{x['max_relative_difference']:.1e} |")
    return L


def targets_native_vs_fipy(r):
    x = next(iter(r["rows"].values()))
    if "speedup" not in x:
        return []
    return [Target("native vs FiPy speed-up, default case", x["speedup"], 30.0)]


# ------------------------------------------------------------------------------------------- scaling

def measure_scaling(tiny):
    """The coupled Newton alone (continuation, no predictor) on the one-sided layer: its cost per cell and
    iteration must stay flat.  Rounds over all sizes, so that the machine's drift does not land on one."""
    sizes = [1000, 2000] if tiny else [1000, 2000, 4000, 8000, 16000, 32000, 64000]
    problems = {n: _one_sided(20.0, n) for n in sizes}
    its = {}

    def solve(n):
        def f():
            its[n] = solve_equilibrium(problems[n], SolverOptions(predictor=False))[2].newton_iterations
        return f

    times = interleaved({n: solve(n) for n in sizes}, 3 if tiny else 5)
    rows = []
    for n in sizes:
        t = float(np.median(times[n]))
        rows.append({"cells": n, "time_s": t, "newton_iterations": its[n], "time_per_iteration_s": t / its[n]})
    for a, b in zip(rows, rows[1:]):
        b["time_ratio_per_doubling"] = b["time_s"] / a["time_s"]
        b["per_cell_ratio_per_doubling"] = ((b["time_per_iteration_s"] / b["cells"])
                                            / (a["time_per_iteration_s"] / a["cells"]))
    return {"rows": rows}


def report_scaling(r):
    L = ["One-sided layer, psi0 = 20, uniform meshes, the coupled Newton with continuation (no predictor). "
         "The target reads \"O(N)\" as the cost per cell and Newton iteration growing by at most 1.3× when N "
         "doubles.", "",
         "| cells | time | Newton its | time / iteration | time ratio per doubling | per-cell cost ratio per "
         "doubling (target ≤ 1.3) |", "|---|---|---|---|---|---|"]
    for x in r["rows"]:
        L.append(f"| {x['cells']} | {x['time_s'] * 1e3:.1f} ms | {x['newton_iterations']} | "
                 f"{x['time_per_iteration_s'] * 1e3:.2f} ms | {x.get('time_ratio_per_doubling', np.nan):.2f} | "
                 f"{x.get('per_cell_ratio_per_doubling', np.nan):.2f} |")
    return L


def targets_scaling(r):
    worst = max(x.get("per_cell_ratio_per_doubling", 0.0) for x in r["rows"])
    return [Target("worst per-cell cost ratio per doubling", worst, 1.3, higher=False,
                   why="single sizes can sit off the trend on this shared 2-core machine even as medians of "
                       "5 interleaved rounds; the ratios over the whole range (the table) average close to 1")]


# ------------------------------------------------------------------------------------- LAPACK floor

def _lapack_times(p, psi, c, w, reps=5):
    """gbsv on the coupled Newton's banded matrix, and on a tridiagonal of N (the predictor's solve)."""
    import scipy.linalg as sla
    from sim.pnp import newton as nw
    from sim.pnp import operator as op
    g = op.geometry(p)
    rows, cols, vals, dense, m = nw.newton_step_matrix(p, g, psi, c, w=w)
    n = (1 + p.n_species) * p.n
    bw = 2 * m - 1
    ab = nw.lapack_band(nw.row_band(rows, cols, vals, n, bw))
    copies = [ab.copy() for _ in range(reps)]
    rhs = np.ones(n)
    t0 = time_now()
    for a in copies:
        sla.solve_banded((bw, bw), a, rhs, overwrite_ab=True, check_finite=False)
    t_full = (time_now() - t0) / reps
    tri = np.vstack([np.full(p.n, -1.0), np.full(p.n, 2.5), np.full(p.n, -1.0)])
    copies = [tri.copy() for _ in range(reps * 4)]
    t0 = time_now()
    for a in copies:
        sla.solve_banded((1, 1), a, np.ones(p.n), overwrite_ab=True, check_finite=False)
    return t_full, (time_now() - t0) / (reps * 4)


def time_now():
    import time
    return time.perf_counter()


#: cProfile's functions grouped by what they do, for the profile of the floor's miss (first match wins)
PROFILE_GROUPS = (("LAPACK (banded LU)", ("lapack.py",)),
                  ("the laws (statistics, mobility, Bernoulli, fluxes)", ("laws.py",)),
                  ("operator: residual, Jacobian, boundary terms", ("operator.py",)),
                  ("Newton: step matrix, band layout, damping", ("newton.py",)),
                  ("predictor (Poisson-Fermi-Dirac)", ("predictor.py",)))


def grouped_profile(fn, reps):
    """Self time of fn's calls, grouped by PROFILE_GROUPS (the rest: NumPy calls and Python outside them,
    attributed to the caller's group where cProfile names one)."""
    pr = cProfile.Profile()
    pr.enable()
    for _ in range(reps):
        fn()
    pr.disable()
    st = pstats.Stats(pr, stream=io.StringIO())
    total = sum(v[2] for v in st.stats.values())
    groups = {g: 0.0 for g, _ in PROFILE_GROUPS}
    groups["NumPy and Python elsewhere"] = 0.0
    for (fname, _, func), (cc, nc, tt, ct, callers) in st.stats.items():
        name = Path(fname).name
        group = next((g for g, files in PROFILE_GROUPS if name in files), None)
        if group is None:     # a builtin or NumPy function: charge it to the group of its main caller
            caller = max(callers.items(), key=lambda kv: kv[1][2], default=None)
            cname = Path(caller[0][0]).name if caller else ""
            group = next((g for g, files in PROFILE_GROUPS if cname in files), "NumPy and Python elsewhere")
        groups[group] += tt
    return {"total_s": total / reps, "self_s_per_solve": {g: t / reps for g, t in groups.items()}}


def measure_lapack_floor(tiny):
    """Default solves (the Poisson-Fermi-Dirac predictor, then the coupled Newton) against gbsv on the same
    Jacobian: the issue-14 floor is gbsv time x coupled Newton iterations; 'all LUs' adds the predictor's
    tridiagonal solves x its iterations.  Solves and LUs in interleaved rounds (medians)."""
    sizes = [1000, 4000] if tiny else [1000, 4000, 16000, 64000]
    makers = {"lco_lno_lps equilibrium (default case, uniform mesh)":
              lambda n: build_problem(_uniform_case("lco_lno_lps.toml", n)),
              "one-sided layer, psi0 = 20 kT/e": lambda n: _one_sided(20.0, n)}
    out = {"problems": {}}
    for label, make in makers.items():
        rows = []
        for n in sizes:
            p = make(n)
            solve_equilibrium(p)                       # warm
            times = {"solve": [], "gbsv": [], "tri": []}
            for _ in range(2 if tiny else 9):
                t, _, (psi, c, st) = timed(lambda: solve_equilibrium(p), 1)
                t_lu, t_tri = _lapack_times(p, psi, c, st.w, reps=3)
                times["solve"].append(t)
                times["gbsv"].append(t_lu)
                times["tri"].append(t_tri)
            row = {"cells": p.n, "newton_iterations": st.newton_iterations,
                   "predictor_iterations": st.predictor_iterations,
                   **{f"{k}_s": float(np.median(v)) for k, v in times.items()}}
            floor = row["gbsv_s"] * row["newton_iterations"]
            row["ratio_to_floor"] = row["solve_s"] / floor
            row["ratio_to_all_lu"] = row["solve_s"] / (floor + row["tri_s"] * row["predictor_iterations"])
            rows.append(row)
        out["problems"][label] = rows
    # where a solve of the largest default case spends its time (the miss's profile)
    p = makers["lco_lno_lps equilibrium (default case, uniform mesh)"](sizes[-1] // (1 if tiny else 4))
    out["profile"] = {"problem": "lco_lno_lps equilibrium (default case, uniform mesh)", "cells": p.n,
                      **grouped_profile(lambda: solve_equilibrium(p), 2 if tiny else 5)}
    return out


def report_lapack_floor(r):
    L = ["Default options: the Poisson-Fermi-Dirac predictor, then the coupled Newton. Floor = gbsv time on "
         "the same Jacobian (scipy.linalg.solve_banded) × coupled Newton iterations; 'all LUs' adds the "
         "predictor's tridiagonal solves × its iterations. The last two columns are the last measurement "
         f"with the compiled kernels ({WITH_KERNELS['source']}; another run, so only a guide).", "",
         "| problem | cells | gbsv | solve (its pred./coupled) | ratio to floor (target ≤ 2.5) | ratio to all "
         "LUs | 2026-11-26: NumPy path / kernels |", "|---|---|---|---|---|---|---|"]
    for name, rows in r["problems"].items():
        then = WITH_KERNELS["equilibrium_ms"].get(name, {})
        for x in rows:
            old = then.get(x["cells"])
            old_s = f"{old[0]:.1f} / {old[1]:.1f} ms ({old[0] / old[1]:.1f}×)" if old else "—"
            L.append(f"| {name} | {x['cells']} | {x['gbsv_s'] * 1e3:.2f} ms | {x['solve_s'] * 1e3:.1f} ms "
                     f"({x['predictor_iterations']}/{x['newton_iterations']}) | **{x['ratio_to_floor']:.1f}×** | "
                     f"{x['ratio_to_all_lu']:.1f}× | {old_s} |")
    now_then = [x["solve_s"] * 1e3 / WITH_KERNELS["equilibrium_ms"][name][x["cells"]][0]
                for name, rows in r["problems"].items() for x in rows
                if x["cells"] in WITH_KERNELS["equilibrium_ms"].get(name, {})]
    if now_then:
        L += ["", f"This run's solves took {np.median(now_then):.1f}× (from {min(now_then):.1f}× to "
              f"{max(now_then):.1f}×) the NumPy path's times of 2026-11-26 (last column). This machine is shared "
              "(see the load average above): compare ratios within one run, not times across runs."]
    pr = r["profile"]
    L += ["", f"Where a solve spends its time ({pr['problem']}, {pr['cells']} cells, cProfile self time per solve, "
          f"{pr['total_s'] * 1e3:.0f} ms under the profiler; NumPy calls are charged to the module that makes "
          "them):", "", "| part | time | share |", "|---|---|---|"]
    for g, t in sorted(pr["self_s_per_solve"].items(), key=lambda kv: -kv[1]):
        L.append(f"| {g} | {t * 1e3:.1f} ms | {100 * t / pr['total_s']:.0f} % |")
    L += ["", WHY_KERNELS_REMOVED]
    return L


def _floor_why(r):
    pr = r["profile"]
    share = {g: t / pr["total_s"] for g, t in pr["self_s_per_solve"].items()}
    lu = share.get("LAPACK (banded LU)", 0.0)
    return (f"a NumPy solve makes about 20 vectorized passes over the cells per coupled iteration and about 10 per "
            f"predictor iteration; in this run's profile ({pr['cells']} cells) the banded LUs are "
            f"{100 * lu:.0f} % of a solve and the laws, the operator and Newton's assembly "
            f"{100 * (1 - lu):.0f} %. The compiled kernels fused those passes into one loop each and met the "
            "target (1.5-2.3× in their last run); they were removed for one source of the laws "
            "(see the section's last paragraph)")


def targets_lapack_floor(r):
    out = []
    for name, rows in r["problems"].items():
        worst = max(rows, key=lambda x: x["ratio_to_floor"])
        out.append(Target(f"worst solve / LAPACK floor, {name} (at {worst['cells']} cells)",
                          worst["ratio_to_floor"], 2.5, higher=False, why=_floor_why(r)))
    return out


# ---------------------------------------------------------------------------------------- transients

def measure_transient(tiny):
    """cases/lco_lps_charging.toml at 1 mA/cm2 for an hour, its own adaptive steps."""
    from sim.kinds.pnp.transient import _options, _soc
    prm = load_case(ROOT / "cases" / "lco_lps_charging.toml").params
    p = galvanostatic_problem(build_problem(prm))
    li = obs.li_index(p)
    psi0, c0, _ = solve_equilibrium(p)
    soc = _soc(prm, p, li)
    duration = 60.0 if tiny else 3600.0
    t, _, res = timed(lambda: tr.integrate(p, psi0, c0, tr.Galvanostatic(10.0, li), duration,
                                           opts=_options(prm), soc=soc), 1 if tiny else 5)
    st = res[2]
    return {"case": "cases/lco_lps_charging.toml, 1 mA/cm2", "simulated_s": duration, "cells": p.n,
            "wall_s": t, "accepted_steps": st.accepted_steps, "rejected_steps": st.rejected_steps,
            "newton_iterations": st.newton_iterations, "smallest_step_s": st.smallest_step_s,
            "largest_step_s": st.largest_step_s}


def report_transient(t):
    return [f"{t['case']}, {t['simulated_s']:.0f} s simulated on {t['cells']} cells: **{t['wall_s']:.2f} s**, "
            f"{t['accepted_steps']} accepted and {t['rejected_steps']} rejected steps, {t['newton_iterations']} "
            f"Newton iterations, steps from {t['smallest_step_s']:.1e} s to {t['largest_step_s']:.0f} s."]


def targets_transient(t):
    return [Target(f"{t['simulated_s']:.0f} s transient at 1 mA/cm2 (s)", t["wall_s"], 2.0, higher=False)]


def measure_transient_scaling(tiny):
    """lco_lps_charging at 1 mA/cm2 for 600 s on uniform meshes of 200 ... 25,600 cells (fixed tolerances)."""
    from sim.kinds.pnp.transient import _options, _soc
    sizes = [200, 400] if tiny else [200, 400, 800, 1600, 3200, 6400, 12800, 25600]
    duration = 30.0 if tiny else 600.0
    rows = []
    for n in sizes:
        prm = _uniform_case("lco_lps_charging.toml", n)
        p = galvanostatic_problem(build_problem(prm))
        li = obs.li_index(p)
        psi0, c0, _ = solve_equilibrium(p)
        soc = _soc(prm, p, li)

        def run():
            return tr.integrate(p, psi0, c0, tr.Galvanostatic(10.0, li), duration, opts=_options(prm), soc=soc)

        if n == sizes[0]:
            run()                                       # warm
        t, _, res = timed(run, 1)
        st = res[2]
        rows.append({"cells": p.n, "wall_s": t, "accepted_steps": st.accepted_steps,
                     "rejected_steps": st.rejected_steps, "newton_iterations": st.newton_iterations})
    for a, b in zip(rows, rows[1:]):
        b["time_ratio_per_doubling"] = b["wall_s"] / a["wall_s"]
    return {"simulated_s": duration, "rows": rows}


def report_transient_scaling(r):
    then = WITH_KERNELS["transient_s"]
    L = [f"cases/lco_lps_charging.toml at 1 mA/cm², {r['simulated_s']:.0f} s simulated, fixed tolerances. The "
         f"last column is the last run with the compiled kernels ({WITH_KERNELS['source']}).", "",
         "| cells | wall time | accepted steps | rejected | Newton its | time ratio per doubling | 2026-11-26: "
         "NumPy path / kernels |", "|---|---|---|---|---|---|---|"]
    for x in r["rows"]:
        old = then.get(x["cells"])
        old_s = f"{old[0]:.2f} / {old[1]:.2f} s ({old[0] / old[1]:.1f}×)" if old else "—"
        L.append(f"| {x['cells']} | {x['wall_s']:.2f} s | {x['accepted_steps']} | {x['rejected_steps']} | "
                 f"{x['newton_iterations']} | {x.get('time_ratio_per_doubling', np.nan):.2f} | {old_s} |")
    return L


def targets_transient_scaling(r):
    rows = r["rows"]
    doublings = np.log2(rows[-1]["cells"] / rows[0]["cells"])
    mean = (rows[-1]["wall_s"] / rows[0]["wall_s"]) ** (1 / doublings)
    worst = max(x["time_ratio_per_doubling"] for x in rows[1:])
    return [Target(f"transient: time ratio per doubling over {rows[0]['cells']}-{rows[-1]['cells']} cells "
                   "(geometric mean)", mean, 2.3, higher=False,
                   why="Newton iterations grow with refinement (see the table) and arrays of more than ~10^4 "
                       "cells leave the CPU caches",
                   note=f"worst single doubling {worst:.2f}×, not a target: single timings on this shared "
                        f"machine scatter by ±30 %; Newton iterations {rows[0]['newton_iterations']} → "
                        f"{rows[-1]['newton_iterations']}, accepted steps {rows[0]['accepted_steps']} → "
                        f"{rows[-1]['accepted_steps']}")]


# ----------------------------------------------------------------------------------------- impedance

def measure_impedance(tiny):
    """A 60-frequency spectrum of cases/lco_lps_impedance.toml at 25 C (its steady state excluded)."""
    from sim.pnp import impedance as imp
    from sim.kinds.pnp.impedance import steady_state
    prm = load_case(ROOT / "cases" / "lco_lps_impedance.toml").params
    p, psi, c, w = steady_state(prm, 298.15)
    f = imp.frequencies(1e-3, 1e7, 6)[:60]
    t, _, _ = timed(lambda: imp.current_drive(p, psi, c, f, obs.li_index(p), w=w), 1 if tiny else 7)
    return {"case": "cases/lco_lps_impedance.toml, 25 C", "cells": p.n, "frequencies": len(f), "wall_s": t}


def report_impedance(r):
    return [f"{r['case']}: {r['frequencies']} frequencies on {r['cells']} cells in **{r['wall_s'] * 1e3:.1f} ms** "
            "(one banded complex LU per frequency; the steady state is not timed)."]


def targets_impedance(r):
    return [Target("60-frequency impedance spectrum (s)", r["wall_s"], 0.5, higher=False)]


# -------------------------------------------------------------------------------------------- DEVSIM

_DEVSIM_CHILD = """
import json, sys
sys.path.insert(0, {bench!r})
from devsim_one_sided import solve_one_sided
solve_one_sided(2.0, 50)                            # import and start-up outside the timing
out = {{}}
for n, reps in {plan!r}:
    runs = []
    for _ in range(reps):
        try:
            runs.append(solve_one_sided({psi0!r}, n, step={psi0!r}))      # one step, like the native solver
        except Exception:
            runs.append(solve_one_sided({psi0!r}, n, step=2.0))           # ramp if it must
    out[n] = runs
print("RESULT " + json.dumps(out))
"""


def measure_devsim(tiny):
    """The same one-sided single-carrier problem (psi0 = 10, 40 Debye lengths, uniform N cells/nodes) in DEVSIM
    and in ours.  DEVSIM runs in a child process: it loads its own BLAS (devsim-openblas), which must not
    replace the LAPACK our solver is timed with."""
    psi0 = 10.0
    plan = [(200, 1)] if tiny else [(1000, 3), (4000, 3), (16000, 1)]
    code = _DEVSIM_CHILD.format(bench=str(Path(__file__).parent), plan=plan, psi0=psi0)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    lines = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:              # not installed, or no BLAS for it
        why = (proc.stderr.strip().splitlines() or ["no output"])[-1][:100]
        return {"status": f"not available ({why}); pip install 'sim[devsim]'"}
    devsim = {int(k): v for k, v in json.loads(lines[-1][len("RESULT "):]).items()}
    from sim.pnp.analytic import gouy_chapman_charge, debye_length
    from sim.units import FARADAY
    lam = debye_length(9.0, 3.1e3, 298.15)
    exact = gouy_chapman_charge(psi0, 9.0, 3.1e3, 298.15) / (FARADAY * 3.1e3 * lam)   # units of e c0 lambda
    rows = []
    for n, _ in plan:
        runs = devsim[n]
        p = _one_sided(psi0, n)
        solve_equilibrium(p)
        t_n, _, res = timed(lambda: solve_equilibrium(p), 1 if tiny else 5)
        q_n = FARADAY * np.sum((res[1][0] - p.c_bg) * p.mesh.widths) / (FARADAY * 3.1e3 * lam)
        d_s = float(np.median([x[1] for x in runs]))
        rows.append({"cells_or_nodes": n, "devsim_s": d_s, "devsim_newton_iterations": runs[-1][2],
                     "devsim_charge_error_vs_gouy_chapman": abs(abs(runs[-1][0]) / exact - 1),
                     "native_s": t_n, "ratio_devsim_over_native": d_s / t_n,
                     "native_newton_iterations": res[2].newton_iterations,
                     "native_charge_error_vs_gouy_chapman": abs(abs(q_n) / exact - 1)})
    return {"rows": rows}


def report_devsim(r):
    L = ["One-sided layer, psi0 = 10 kT/e, 40 Debye lengths; N uniform cells (ours) / nodes (DEVSIM, "
         "vertex-centred). DEVSIM solves in one Newton sequence from a flat start; ours runs the predictor and "
         "the coupled Newton. Errors are of the SCL charge against Gouy-Chapman (different discretizations, so "
         "they differ).", "",
         "| N | DEVSIM (Newton its) | ours (coupled its) | DEVSIM / ours | charge error DEVSIM / ours |",
         "|---|---|---|---|---|"]
    for x in r["rows"]:
        L.append(f"| {x['cells_or_nodes']} | {x['devsim_s'] * 1e3:.1f} ms ({x['devsim_newton_iterations']}) | "
                 f"{x['native_s'] * 1e3:.1f} ms ({x['native_newton_iterations']}) | "
                 f"{x['ratio_devsim_over_native']:.1f}× | {x['devsim_charge_error_vs_gouy_chapman']:.1e} / "
                 f"{x['native_charge_error_vs_gouy_chapman']:.1e} |")
    return L


# ------------------------------------------------------------------------------------------- profile

def measure_profile(tiny):
    """cProfile of ten solves of the default case at 4.2 V (its own graded mesh)."""
    prm = load_case(ROOT / "cases" / "lco_lno_lps.toml").params
    p = build_problem(prm, potential_V=4.2)
    solve_equilibrium(p)
    pr = cProfile.Profile()
    pr.enable()
    for _ in range(10):
        solve_equilibrium(p)
    pr.disable()
    st = pstats.Stats(pr, stream=io.StringIO())
    rows = [{"function": f"{Path(fname).name}:{func}", "calls": nc, "self_s": tt, "share": tt / st.total_tt}
            for (fname, _, func), (cc, nc, tt, ct, callers) in sorted(st.stats.items(), key=lambda kv: -kv[1][2])[:10]]
    return {"cells": p.n, "total_s": st.total_tt, "solves": 10, "top": rows}


def report_profile(r):
    L = [f"Ten solves of cases/lco_lno_lps.toml at 4.2 V ({r['cells']} cells), {r['total_s'] * 1e3 / r['solves']:.1f} "
         "ms per solve under the profiler; the ten functions with the most self time.", "",
         "| function | calls | self time | share |", "|---|---|---|---|"]
    for x in r["top"]:
        L.append(f"| `{x['function']}` | {x['calls']} | {x['self_s'] * 1e3:.1f} ms | {100 * x['share']:.0f} % |")
    return L
