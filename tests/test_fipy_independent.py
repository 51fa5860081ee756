"""The FiPy solver is a second, independent solver: it shares only the problem data and the pointwise laws
with the native one (no residual, Jacobian, Newton, predictor or time stepper), and the two agree on the
same mesh — closely enough that a changed native flux discretization is seen."""
import ast
import copy
import functools
import os
import sys

import numpy as np
import pytest

from sim.case import load_case
from sim.kinds.pnp.build import build_problem, galvanostatic_problem
from sim.pnp import laws
from sim.pnp import observables as obs
from sim.pnp import transient as tr
from sim.pnp.fipy_solver import FiPyModel, FiPyUnsupported, make_fipy_newton, solve_equilibrium_fipy
from sim.pnp.newton import solve_equilibrium
from sim.pnp.reference_problems import one_sided_frenkel, one_sided_layer
from sim.units import AVOGADRO
from sim.errors import ConvergenceError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conftest import COARSE  # noqa: E402

NATIVE_DISCRETIZATION = {"operator", "newton", "predictor", "kernels", "transient", "impedance"}
N_LLZO = 3.27455e22 * 1e6 / AVOGADRO            # mol/m^3, Swift & Qi's LLZO site density
AGREEMENT = 1e-6                                 # the bound; measured: 1e-14 (equilibria), 2e-8 (a step)


def _close(a, b):
    """max relative difference of (psi, c): psi against its range, each species against its largest c."""
    dpsi = np.max(np.abs(a[0] - b[0])) / max(1.0, np.ptp(a[0]))
    scale = np.maximum(np.max(np.abs(a[1]), axis=1, keepdims=True), 1e-300)
    return max(dpsi, float(np.max(np.abs(a[1] - b[1]) / scale)))


def _case(name, **changes):
    prm = copy.deepcopy(load_case(os.path.join(ROOT, "cases", name), COARSE).params)
    prm.update(changes)
    return prm


def test_fipy_module_imports_nothing_of_the_native_discretization():
    tree = ast.parse(open(os.path.join(ROOT, "sim", "pnp", "fipy_solver.py")).read())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported |= {node.module.split(".")[-1]} | {a.name for a in node.names}
        elif isinstance(node, ast.Import):
            imported |= {a.name.split(".")[-1] for a in node.names}
    assert not imported & NATIVE_DISCRETIZATION, imported & NATIVE_DISCRETIZATION


PROBLEMS = {
    "LCO | LPS": lambda: build_problem(_case("lco_lps.toml"), potential_V=4.1),
    "LCO | LNO | LPS": lambda: build_problem(_case("lco_lno_lps.toml"), potential_V=4.1),
    "one-sided Frenkel layer, 0.3 V": lambda: one_sided_frenkel(0.3, N_LLZO, 0.0143907, 50.0, 0.1, 300.0),
    "one-sided dilute layer, 20 kT/e": lambda: one_sided_layer(20.0),
}


@pytest.mark.parametrize("name", PROBLEMS)
def test_fipy_equilibrium_agrees_with_native(name):
    p = PROBLEMS[name]()
    a = solve_equilibrium(p)
    b = solve_equilibrium_fipy(p)
    assert _close(a, b) <= AGREEMENT
    assert b[2].final_residual < 1e-8          # FiPy's own steady Nernst-Planck equations hold there


def test_fipy_nernst_planck_residual_sees_a_state_off_equilibrium():
    p = PROBLEMS["LCO | LPS"]()
    psi, c, _ = solve_equilibrium(p)
    model = FiPyModel(p)
    assert model.nernst_planck_residual(psi, c) < 1e-8
    c2 = c.copy()
    c2[0, p.n // 2] *= 1 + 1e-4
    assert model.nernst_planck_residual(psi, c2) > 1e-5


def _transient(newton_fn=None, steps=1):
    """Galvanostatic steps (10 A/m^2, BDF1, 2 us) of LCO | LPS from its equilibrium (computed by FiPy)."""
    p_open = PROBLEMS["LCO | LPS"]()
    psi0, c0, _ = solve_equilibrium_fipy(p_open)
    p = galvanostatic_problem(p_open)
    opts = tr.TimeOptions(method="bdf1", adaptive=False, dt_initial=2e-6)
    run = tr.integrate(p, psi0, c0, tr.Galvanostatic(10.0, obs.li_index(p)), steps * 2e-6, opts=opts,
                       newton_fn=newton_fn)
    return run, c0


@functools.cache
def _fipy_transient():
    """`_transient` by FiPy with the shipped laws, computed once per session (its FiPy sweeps take seconds)."""
    return _transient(make_fipy_newton())


def test_fipy_time_steps_agree_with_native():
    (a, c0) = _transient()
    (b, _) = _fipy_transient()
    assert _close(a, b) <= AGREEMENT
    assert np.max(np.abs(a[1] - c0) / np.max(a[1], axis=1, keepdims=True)) > 100 * AGREEMENT   # something moved


def _central_flux(dPhi, cK, cL):
    """The central-difference flux (SG to first order in dPhi; a plausible wrong discretization) in the
    signature of `laws.sg_flux`."""
    B1, B2 = 1.0 - dPhi / 2, 1.0 + dPhi / 2
    return B1 * cK - B2 * cL, B1, B2, -(cK + cL) / 2


def test_a_changed_native_flux_law_breaks_the_agreement(monkeypatch):
    p = PROBLEMS["LCO | LPS"]()
    fipy_eq = solve_equilibrium_fipy(p)
    fipy_steps, _ = _fipy_transient()
    with monkeypatch.context() as m:
        m.setattr(laws, "sg_flux", _central_flux)           # what the native operator evaluates
        try:
            differs = _close(solve_equilibrium(p), fipy_eq)   # measured: 0.78, or no equilibrium at all
        except ConvergenceError:
            differs = np.inf
        assert differs > 10 * AGREEMENT
    # the face diffusivity averaged arithmetically instead of harmonically: no effect on equilibria,
    # but the steps move differently wherever D jumps (the LCO | LPS interface)
    from sim.pnp import operator as op
    geometry = op._geometry

    def arithmetic(problem):
        g = geometry(problem)
        Dk = np.where(problem.present, problem.D, 0.0)
        g.D_f = np.where(g.open_f, 0.5 * (Dk[:, :-1] + Dk[:, 1:]), 0.0)
        return g
    monkeypatch.setattr(op, "_geometry", arithmetic)
    monkeypatch.setattr(op, "_LAST_GEOMETRY", type(op._LAST_GEOMETRY)())
    assert _close(_transient()[0], fipy_steps) > 10 * AGREEMENT       # measured: 3.8e-5


def test_fipy_refuses_what_it_does_not_solve_in_one_clear_error():
    p = PROBLEMS["LCO | LPS"]()
    from dataclasses import replace
    with pytest.raises(FiPyUnsupported, match="open problems"):
        solve_equilibrium_fipy(replace(p, c_bc=np.full_like(p.c_bc, np.nan), closed=True))
    with pytest.raises(ConvergenceError):
        solve_equilibrium_fipy(one_sided_layer(3000.0), max_sweeps=3)


def test_fipy_reaches_swift_and_qi_at_their_potential():
    """Li | LLZO at 1.62 V (62 kT/e, a saturated layer): FiPy's sweeps with the energy line search converge."""
    p = build_problem(load_case(os.path.join(ROOT, "cases", "verification", "swift_qi_llzo.toml")).params)
    a = solve_equilibrium(p)
    b = solve_equilibrium_fipy(p)
    assert _close(a, b) <= AGREEMENT
