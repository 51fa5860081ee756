"""Benchmark sections for work in progress (issue 27).  Each names the function it needs (NEEDS); until that
exists the section reports "not measured yet" and its target as pending.  When the function lands under
another name or signature, change NEEDS and the call below it; nothing else needs to change.

(a) the steady state under current by Newton on the steady equations (`sim.pnp.newton.solve_steady`):
    ≤ 2 s at 10,000 cells (66 s before the Woodbury solve of the inventory rows, issue 27);
(b) the impedance spectrum about that state at 10,000 cells (no target yet);
(c) a 3-parameter fit of the model (case kind "fit") to a 60-frequency spectrum on ≤ 500 cells: ≤ 10 s.
"""
from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import numpy as np

from bench_harness import ROOT, Target, missing, not_measured, timed

NEEDS = {
    # (problem, boundary_flux_in (2, n_species) mol/m^2/s, opts=None) -> (psi, c, stats)
    "steady_current": "sim.pnp.newton:solve_steady",
    # the case kind of issue 27 (its package)
    "model_fit": "sim.kinds.fit",
}
STEADY_CELLS = 10_000
FIT_CELLS = 500


def _under_current(cells, J_mA_cm2=1.0):
    """(problem, Li+ flux at x = 0, params) of cases/lco_lps_impedance.toml at 25 C on a uniform mesh."""
    from sim.case import load_case
    from sim.kinds.pnp.build import build_problem, galvanostatic_problem, with_uniform_mesh
    from sim.pnp import observables as obs
    from sim.units import FARADAY, to_si
    prm = with_uniform_mesh(copy.deepcopy(load_case(ROOT / "cases" / "lco_lps_impedance.toml").params), cells)
    p = galvanostatic_problem(build_problem(prm))
    s = obs.li_index(p)
    flux = np.zeros((2, p.n_species))
    flux[0, s] = to_si(J_mA_cm2, "mA/cm^2")[0] / (p.z[s] * FARADAY)
    return p, flux, prm


# ------------------------------------------------------------------- (a) and (b): under current, 10k cells

def measure_steady_current(tiny):
    need = missing(NEEDS["steady_current"])
    if need:
        return not_measured(f"needs `{need}`")
    import importlib
    from sim.pnp import impedance as imp
    from sim.pnp import observables as obs
    module, _, name = NEEDS["steady_current"].partition(":")
    solve_steady = getattr(importlib.import_module(module), name)
    cells = 500 if tiny else STEADY_CELLS
    p, flux, _ = _under_current(cells)
    from sim.pnp.newton import solve_equilibrium
    eq = solve_equilibrium(p)                  # the equilibrium is the start of every ramp (not timed)
    t, _, (psi, c, st) = timed(lambda: solve_steady(p, flux, start=(eq[0], eq[1], eq[2].w)), 1 if tiny else 3)
    f = imp.frequencies(1e-3, 1e7, 6)[:60]
    t_z, _, _ = timed(lambda: imp.current_drive(p, psi, c, f, obs.li_index(p), w=getattr(st, "w", None)),
                      1 if tiny else 3)
    return {"cells": p.n, "current_mA_cm2": 1.0, "steady_s": t, "newton_iterations": st.newton_iterations,
            "frequencies": len(f), "spectrum_s": t_z}


def report_steady_current(r):
    return [f"cases/lco_lps_impedance.toml at 25 C under 1 mA/cm² on {r['cells']} uniform cells: the steady "
            f"state by Newton in **{r['steady_s']:.2f} s** ({r['newton_iterations']} iterations); its "
            f"{r['frequencies']}-frequency spectrum in **{r['spectrum_s']:.2f} s**."]


def targets_steady_current(r):
    return [Target(f"steady state under current, {r['cells']} cells (s)", r["steady_s"], 2.0, higher=False)]


# ---------------------------------------------------------------------------------------- (c) model fit

def measure_model_fit(tiny):
    """A synthetic 60-frequency spectrum of cases/lco_lps_impedance.toml at 25 C on ≤ 500 cells, fitted back
    by a case of kind "fit" over three keys (the format of issue 27), timed end to end (compute)."""
    need = missing(NEEDS["model_fit"])
    if need:
        return not_measured(f"needs the case kind `fit` (`{need}`)")
    from sim.case import load_case
    from sim.kinds.pnp.impedance import spectrum
    from sim.run import compute
    from sim.units import SI
    case_text = (ROOT / "cases" / "lco_lps_impedance.toml").read_text()
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        (d / "cell.toml").write_text(case_text)              # its graded mesh has about 200 cells
        prm = load_case(d / "cell.toml").params
        f, Z, p, *_ = spectrum(prm, 298.15)
        assert p.n <= FIT_CELLS, f"the fit's case has {p.n} cells, more than {FIT_CELLS}"
        keep = np.linspace(0, len(f) - 1, 60).astype(int)
        z = Z[keep] / SI["ohm cm^2"]
        np.savetxt(d / "spectrum.csv", np.column_stack([f[keep], z.real, z.imag]), delimiter=",",
                   header="f_Hz, Zre_ohm_cm2, Zim_ohm_cm2")
        (d / "fit.toml").write_text(
            'kind = "fit"\ncase = "cell.toml"\ndata = "spectrum.csv"\ntemperatures_K = [298.15]\n'
            '[parameters."materials.LPS.eps_r"]\nlow = 5.0\nhigh = 15.0\n'
            '[parameters."materials.LPS.conductivity_S_cm"]\nlow = 1e-5\nhigh = 1e-2\nscale = "log"\n'
            '[parameters."materials.LCO.mu0_li_eV"]\nlow = -0.5\nhigh = 0.0\n')
        case = load_case(d / "fit.toml")
        t, _, _ = timed(lambda: compute(case), 1)
    return {"cells": p.n, "frequencies": 60, "parameters": 3, "wall_s": t}


def report_model_fit(r):
    return [f"A synthetic {r['frequencies']}-frequency spectrum of cases/lco_lps_impedance.toml at 25 C on "
            f"{r['cells']} cells, fitted back over {r['parameters']} keys by a case of kind `fit`: "
            f"**{r['wall_s']:.1f} s**."]


def targets_model_fit(r):
    return [Target(f"{r['parameters']}-parameter fit to a {r['frequencies']}-frequency spectrum, {r['cells']} cells (s)",
                   r["wall_s"], 10.0, higher=False)]
