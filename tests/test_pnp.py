"""PNP solvers against analytic limits, conservation, FiPy agreement and the review's claims."""
import copy
import os

import numpy as np
import pytest

from sim.case import load_case
from sim.pnp import observables as obs
from sim.pnp import operator as op
from sim.pnp.analytic import (gouy_chapman_charge, mott_schottky_inverse_c2, mott_schottky_width,
                              saturated_charge)
from sim.pnp.reference_problems import one_sided_layer
from sim.pnp.newton import solve_equilibrium
from sim.kinds.pnp.runner import solve
from sim.units import FARADAY, thermal_voltage

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
T, EPS, C0 = 298.15, 9.0, 3.1e3
# converged mesh: a graded base (h_min = 0.02 lambda, h_max = 0.5 lambda, growth 1.1) bisected 6 times
FINE = dict(mesh=one_sided_layer(1.0, h_min_debye=0.02, h_max_debye=0.5, growth=1.1).mesh.refined(64))


def charge(p, c):
    return FARADAY * np.sum((np.sum(p.z[:, None] * c, axis=0) - p.c_bg) * p.mesh.widths)


@pytest.mark.parametrize("psi0", [-4.0, -1.0, -0.01, 0.01, 1.0, 5.0, 20.0, 60.0])
def test_gouy_chapman_first_integral(psi0):
    p = one_sided_layer(psi0, **FINE)
    psi, c, st = solve_equilibrium(p)
    q = abs(charge(p, c))
    assert q == pytest.approx(gouy_chapman_charge(psi0, EPS, C0, T), rel=1e-6)


def test_mesh_convergence_is_second_order():
    base = one_sided_layer(2.0, h_min_debye=0.02, h_max_debye=0.5, growth=1.1).mesh
    errs = []
    for f in (1, 2, 4, 8):
        p = one_sided_layer(2.0, mesh=base.refined(f) if f > 1 else base)
        errs.append(abs(abs(charge(p, solve_equilibrium(p)[1])) / gouy_chapman_charge(2.0, EPS, C0, T) - 1))
    orders = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert np.all(orders > 1.9) and np.all(orders < 2.1), orders


def test_lattice_saturation_first_integral():
    cs = 4 * C0                                             # x0 = 0.25: strong saturation
    for psi0 in (-8.0, -3.0, 3.0):
        p = one_sided_layer(psi0, c_sites=cs, **FINE)
        c = solve_equilibrium(p)[1]
        assert abs(charge(p, c)) == pytest.approx(saturated_charge(psi0, EPS, C0, cs, T), rel=1e-6)
        assert np.all(c < cs)


def test_mott_schottky_depletion_limit():
    V_T = thermal_voltage(T)
    psi0 = 40.0
    p = one_sided_layer(psi0, **FINE)
    q = abs(charge(p, solve_equilibrium(p)[1]))
    w_eff = q / (FARADAY * C0)
    assert w_eff == pytest.approx(mott_schottky_width(psi0 * V_T, EPS, C0, T), rel=1e-6)
    # 1/C^2 from two solves around psi0
    d = 0.01
    qs = [abs(charge(pp, solve_equilibrium(pp)[1])) for pp in (one_sided_layer(psi0 - d, **FINE), one_sided_layer(psi0 + d, **FINE))]
    C = (qs[1] - qs[0]) / (2 * d * V_T)
    assert 1 / C ** 2 == pytest.approx(mott_schottky_inverse_c2(psi0 * V_T, EPS, C0, T), rel=1e-4)


def test_discrete_equilibrium_has_zero_flux():
    p = one_sided_layer(10.0)
    psi, c, _ = solve_equilibrium(p)
    g = op.geometry(p)
    N = op.face_fluxes(p, g, psi, c)
    # fluxes vanish relative to their one-sided parts D c / h
    scale = np.max(p.D[:, :-1] * c[:, :-1] / g.h)
    assert np.max(np.abs(N)) < 1e-12 * scale


def test_jacobian_matches_finite_differences():
    params = load_case(os.path.join(ROOT, "cases", "lco_lno_lps.toml")).params
    params = copy.deepcopy(params)
    params["mesh"].update(h_min_m=2e-11, h_max_m=2e-9, growth=1.3)
    from sim.kinds.pnp.build import build_problem
    from sim.pnp.newton import interleave, split
    import scipy.sparse as sp
    p = build_problem(params, potential_V=4.1)
    g = op.geometry(p)
    rng = np.random.default_rng(1)
    psi = rng.normal(0, 1, p.n)
    th = np.where(p.present, p.c_bulk / p.c_max, 0.5)
    w = np.log(th / (1 - th)) + rng.normal(0, 1, th.shape)
    c = np.where(p.present, p.c_max / (1 + np.exp(-w)), 0.0)
    rows, cols, vals, _ = op.jacobian(p, g, psi, c)
    m = 1 + p.n_species
    J = sp.csr_matrix((vals, (rows, cols)), shape=(p.n * m, p.n * m)).toarray()
    y0 = interleave(psi, c)
    def F(y):
        a, b = split(y, p.n_species)
        return interleave(*op.residual(p, g, a, b.copy()))
    for j in rng.choice(m * p.n, 40, replace=False):
        h = 1e-6 * max(1.0, abs(y0[j]))
        e = np.zeros_like(y0); e[j] = h
        col = (F(y0 + e) - F(y0 - e)) / (2 * h)
        present_col = j % m == 0 or p.present[j % m - 1, j // m]
        if present_col:
            assert np.allclose(J[:, j], col, rtol=1e-5, atol=1e-8 * np.max(np.abs(J[:, j])) + 1e-300)



def _case(name):
    return load_case(os.path.join(ROOT, "cases", name)).params


def test_closed_system_conserves_inventory():
    """A closed stack keeps what no reaction changes: the electrons, and Li_i* less V_Li' (the Frenkel
    reaction trades the two, and holds them in Frenkel equilibrium: eta_i + eta_v = 0 in every cell)."""
    params = copy.deepcopy(_case("lco_lps.toml"))
    params["ensemble"] = "closed"
    p, psi, c, _ = solve(params, 4.2)
    inv = obs.inventory(p, c)
    target = obs.inventory(p, np.where(p.present, p.c_bulk, 0.0))
    i, v, e = (p.species.index(n) for n in ("Li_i", "V_Li", "e"))
    assert abs(inv[e] / target[e] - 1) < 1e-12
    assert abs((inv[i] - inv[v]) - (target[i] - target[v])) < 1e-12 * target[i]
    frenkel = obs.eta_li(p, psi, c, i) + obs.eta_li(p, psi, c, v)
    assert np.nanmax(np.abs(frenkel)) < 1e-8
    # and it is a real space-charge state, not the bulk
    assert obs.evaluate(p, psi, c)["interfaces"][0]["right"]["potential_drop"] > 0.1


def test_scl_widens_with_cathode_potential_and_lno_suppresses_depletion():
    """The structure of the layers (their resistance: tests/test_defects.py)."""
    bare, lno = _case("lco_lps.toml"), _case("lco_lno_lps.toml")
    rows = {}
    for U in (3.9, 4.2, 4.4):
        for name, prm in (("bare", bare), ("lno", lno)):
            p, psi, c, st = solve(prm, U)
            ev = obs.evaluate(p, psi, c, w=st.w)
            sse_side = ev["interfaces"][-1]["right"]
            li = obs.li_index(p)
            first_sse = p.mesh.layer_faces[-2]
            rows[name, U] = (sse_side["excess_resistance"], sse_side["thickness_1pct"], c[li, first_sse] / p.c_bulk[li, first_sse],
                             ev["total_excess_resistance"])
    assert rows["bare", 3.9][1] < rows["bare", 4.2][1] < rows["bare", 4.4][1]     # SCL thickens on charge
    for U in (3.9, 4.2, 4.4):
        assert rows["lno", U][2] > rows["bare", U][2]        # less Li depletion at the sulfide surface


def test_pnp_case_writes_hdf5_with_units(tmp_path):
    from sim.io import read_result
    from sim.run import run_case
    params_path = os.path.join(ROOT, "cases", "lco_lno_lps.toml")
    text = open(params_path).read().replace("points = 14", "points = 3")
    case = tmp_path / "lco_lno_lps.toml"
    case.write_text(text)
    r = read_result(run_case(case, tmp_path / "o.h5"))
    assert r["pnp/phi"].units == "V" and r["pnp/c/Li_i"].units == "mol/m^3"
    assert r["pnp/observables/interface_0/right/excess_resistance"].units == "ohm cm^2"
    assert r["pnp/sweep/cathode_potential"].value.shape == (3,)
    assert r["pnp/sweep/phi"].value.shape == (3, r["pnp/x"].value.size)
    assert r["pnp/observables/differential_capacitance"].value > 0
    from sim.figures import render_all
    assert len(render_all(tmp_path / "o.h5", tmp_path / "f", ("png",))) >= 2


def _coarse(name, **changes):
    prm = copy.deepcopy(_case(name))
    prm["mesh"].update(h_min_m=5e-12, h_max_m=2e-9, growth=1.2)
    prm.update(changes)
    return prm




def test_cathode_potential_from_ocv_table_matches_direct_potential():
    from sim.kinds.pnp.build import build_problem, cathode_potential
    prm = _coarse("lco_lps.toml")
    prm["cathode"] = dict(prm["cathode"], potential_V=None, x_li=0.6, ocv_x=[0.4, 0.8, 1.0], ocv_V=[4.4, 4.0, 3.8],
                          ionic_fraction=1.0)
    assert cathode_potential(prm) == pytest.approx(4.2)
    p_table = build_problem(prm)
    p_direct = build_problem(prm, potential_V=4.2)
    assert np.array_equal(p_table.mu0, p_direct.mu0)
    li = obs.li_index(p_table)
    # with all of -e dU on Li+: mu0 of Li_i in the cathode moved by -(4.2 - 3.9) eV from the reference
    p_ref = build_problem(prm, potential_V=3.9)
    assert (p_table.mu0[li, 0] - p_ref.mu0[li, 0]) * p_table.thermal_voltage == pytest.approx(-0.3, rel=1e-12)


@pytest.mark.parametrize("closed", [False, True], ids=["open (banded LU)", "closed (banded LU + Woodbury)"])
def test_newton_solves_are_backward_stable(closed):
    """The Newton system of LCO | LPS at 4.1 V (cond ~1e7) solved as the solver solves it: the backward
    error ||A x - b|| / (||A|| ||x|| + ||b||) (infinity norms) stays below n eps, the first-order bound of
    LU with partial pivoting at growth factor ~1 (Higham, Accuracy and Stability, Thm 9.4) -- a criterion
    that holds on any BLAS, unlike agreement of the digits of x (measured: 4e-17)."""
    import scipy.sparse as sp
    from dataclasses import replace
    from sim.kinds.pnp.build import build_problem, galvanostatic_problem
    from sim.pnp.newton import newton_step_matrix, solve_linear
    from conftest import COARSE
    p = build_problem(load_case(os.path.join(ROOT, "cases", "lco_lps.toml"), COARSE).params, potential_V=4.1)
    psi, c, st = solve_equilibrium(p)
    if closed:                       # the inventory rows are dense: banded LUs and a Woodbury correction
        p = replace(galvanostatic_problem(p), inventory_c=c)
        psi, c, st = solve_equilibrium(p)
    rows, cols, vals, dense, m = newton_step_matrix(p, op.geometry(p), psi, c, steady_closed=p.closed, w=st.w)
    assert bool(dense) == closed
    n = p.n * m
    A = sp.coo_matrix((vals, (rows, cols)), shape=(n, n)).toarray()
    b = np.random.default_rng(0).normal(size=n)
    x = solve_linear(rows, cols, vals, n, m, b.copy(), dense)
    backward = np.max(np.abs(A @ x - b)) / (np.max(np.abs(A).sum(axis=1)) * np.max(np.abs(x)) + np.max(np.abs(b)))
    assert backward < n * np.finfo(float).eps


def test_lapack_banded_solves_equal_scipy_bit_for_bit():
    """sim.pnp.lapack calls the same LAPACK routines as scipy.linalg.solve_banded without importing
    scipy.linalg (start-up time): the answers must be identical, banded and tridiagonal."""
    import scipy.linalg as sla
    from sim.pnp import lapack
    rng = np.random.default_rng(3)
    for bw, n in ((1, 50), (3, 40), (7, 300)):
        ab = rng.normal(size=(2 * bw + 1, n))
        ab[bw] += 20.0                                   # diagonally dominant
        b = rng.normal(size=n)
        ours = lapack.solve_banded(bw, bw, ab.copy(), b.copy())
        theirs = sla.solve_banded((bw, bw), ab.copy(), b.copy(), check_finite=False)
        assert np.array_equal(ours, theirs)
    assert lapack.how_loaded() in ("standalone", "scipy.linalg")
    singular = np.zeros((3, 4))
    with pytest.raises(np.linalg.LinAlgError):
        lapack.solve_banded(1, 1, singular, np.ones(4))
