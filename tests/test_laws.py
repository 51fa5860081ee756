"""The laws of `sim.pnp.laws` are the one source every path evaluates: swapping a law there changes the
residual and its Jacobian, the impedance linearization, the observables, the Nernst-Einstein transport and
the FiPy solver alike — and a law with zero flux at uniform eta leaves every equilibrium unchanged."""
import os
import sys
from dataclasses import replace

import numpy as np
import pytest

from sim.case import load_case
from sim.kinds.pnp.build import build_problem
from sim.pnp import carriers, laws
from sim.pnp import impedance as imp
from sim.pnp import observables as obs
from sim.pnp import operator as op
from sim.pnp.newton import interleave, solve_equilibrium
from sim.pnp.reference_problems import neutral_slab
from sim.units import FARADAY, GAS_CONSTANT

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conftest import COARSE  # noqa: E402


def squared(theta, one_minus, param):
    """A different mobility law for the test: m = (1 - theta)^2."""
    return one_minus ** 2, -2.0 * one_minus


@pytest.fixture
def swapped(monkeypatch):
    """Every carrier with the size-exclusion law gets m = (1 - theta)^2 instead."""
    monkeypatch.setitem(laws.MOBILITY_LAWS, "size_exclusion", squared)


def _lco_lps():
    return build_problem(load_case(os.path.join(ROOT, "cases", "lco_lps.toml"), COARSE).params, potential_V=4.1)


def _fd_jacobian_matches(p, psi, c):
    """The analytic Jacobian against central differences of the residual, on a sample of columns."""
    g = op.geometry(p)
    rows, cols, vals, _ = op.jacobian(p, g, psi, c, dt=1e-9)
    m = 1 + p.n_species
    J = np.zeros((m * p.n, m * p.n))
    np.add.at(J, (rows, cols), vals)
    y0 = interleave(psi, c)

    def F(y):
        Y = y.reshape(-1, m).T
        return interleave(*op.residual(p, g, Y[0], Y[1:], c_old=c, dt=1e-9))
    rng = np.random.default_rng(1)
    for j in rng.choice(np.flatnonzero(interleave(np.ones(p.n, bool), p.present)), 30, replace=False):
        h = 1e-7 * max(1.0, abs(y0[j]))
        e = np.zeros_like(y0)
        e[j] = h
        col = (F(y0 + e) - F(y0 - e)) / (2 * h)
        assert np.allclose(J[:, j], col, rtol=1e-5, atol=1e-7 * np.max(np.abs(J[:, j])) + 1e-300), j


def test_a_swapped_mobility_law_reaches_the_jacobian(swapped):
    p = _lco_lps()
    psi, c, _ = solve_equilibrium(p)
    from sim.pnp.newton import from_w, to_w
    c = from_w(p, to_w(p, c) + 0.01 * np.sin(np.arange(p.n))[None, :])    # off equilibrium: fluxes flow
    _fd_jacobian_matches(p, psi, c)
    g = op.geometry(p)
    N_swapped = op.face_fluxes(p, g, psi, c)
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(laws.MOBILITY_LAWS, "size_exclusion", laws.size_exclusion)
        assert not np.allclose(op.face_fluxes(p, g, psi, c), N_swapped)


def test_a_swapped_mobility_law_reaches_observables_transport_and_impedance(swapped):
    p = _lco_lps()
    psi, c, st = solve_equilibrium(p)
    th = np.where(p.present, c / p.c_max, 0.0)
    vac = p.mobility_code == laws.MOBILITY_NAMES.index("vacancy_hop")
    m = np.where(vac, 1 - p.mobility_param * th, (1 - th) ** 2)     # V_Li' keeps its law; the others swapped
    assert vac[1].all() and not vac[0].any()
    expected = FARADAY ** 2 / (GAS_CONSTANT * p.temperature_K) * sum(
        p.z[s] ** 2 * p.D[s] * c[s] * m[s] * p.present[s] for s in (0, 1))
    assert np.allclose(obs.conductivity(p, c), expected, rtol=1e-12)
    sp = {"Li": dict(z=1.0, c_max=10.0, c_bulk=4.0, mu0_eV=0.0, D=None)}
    sp = carriers.diffusivities_from_conductivity(sp, 0.01, 298.15)
    assert sp["Li"]["D"] * 4.0 * 0.6 ** 2 * FARADAY ** 2 / (GAS_CONSTANT * 298.15) == pytest.approx(0.01, rel=1e-12)
    # impedance: a neutral slab between reversible electrodes has Z(0) = L / sigma with the swapped law
    slab = neutral_slab(length_m=50e-9, h_m=0.5e-9)
    c0, cs = slab.c_bulk[0, 0], slab.c_max[0, 0]
    slab = replace(slab, psi_bc=np.array([0.0, 0.0]), c_bc=np.array([[c0], [c0]]))
    psi, c, st = solve_equilibrium(slab)
    Z = imp.voltage_drive(slab, psi, c, np.array([1e-2]), w=st.w)
    sigma = FARADAY ** 2 * slab.D[0, 0] * c0 * (1 - c0 / cs) ** 2 / (GAS_CONSTANT * slab.temperature_K)
    assert Z[0].real == pytest.approx(50e-9 / sigma, rel=1e-6)


def test_equilibria_do_not_depend_on_the_mobility_law():
    p = _lco_lps()
    a = solve_equilibrium(p)
    q = replace(p, mobility_code=np.full_like(p.mobility_code, laws.MOBILITY_NAMES.index("unscaled")))
    b = solve_equilibrium(q)
    assert np.max(np.abs(a[0] - b[0])) <= 1e-10 * np.ptp(a[0])
    assert np.max(np.abs(a[1] - b[1]) / np.max(a[1], axis=1, keepdims=True)) <= 1e-10
    assert not np.allclose(obs.conductivity(p, a[1]), obs.conductivity(q, b[1]))


def test_the_fipy_solver_follows_a_swapped_law(swapped):
    """FiPy's time steps with the swapped law agree with the native ones with the swapped law."""
    from test_fipy_independent import _close, _transient
    from sim.pnp.fipy_solver import make_fipy_newton
    a, _ = _transient()
    b, _ = _transient(make_fipy_newton())
    assert _close(a, b) <= 1e-6


def test_bernoulli_is_accurate_on_every_branch():
    t = np.array([-800.0, -30.0, -1.0, -1e-3, -1e-5, 0.0, 1e-5, 1e-3, 1.0, 30.0, 800.0])
    B, dB = laws.bernoulli(t)
    with np.errstate(all="ignore"):
        exact = np.where(t == 0, 1.0, t / np.expm1(t))
    exact[-1] = 0.0
    assert np.allclose(B, exact, rtol=1e-13, atol=1e-300)
    h = 1e-6
    fd = (laws.bernoulli(t + h)[0] - laws.bernoulli(t - h)[0]) / (2 * h)
    assert np.allclose(dB[1:-1], fd[1:-1], rtol=1e-6, atol=1e-9)
    assert B[0] == pytest.approx(800.0) and dB[0] == pytest.approx(-1.0)


def test_lattice_mass_action_is_zero_at_detailed_balance():
    """The Frenkel reaction r = k c [K (1 - th_i)(1 - th_v) - th_i th_v] vanishes where eta_i + eta_v = 0."""
    m_i, m_v = 0.7, -1.9
    w_i = 2.3
    w_v = -(m_i + m_v) - w_i                 # eta_i + eta_v = (m_i + w_i) + (m_v + w_v) = 0
    th = [laws.occupancy_from_logit(np.array([w])) for w in (w_i, w_v)]
    r, _, d_p = laws.lattice_mass_action(1e3, 10.0, -(m_i + m_v), np.empty((0, 1)), np.empty((0, 1)),
                                         np.array([th[0][0], th[1][0]]), np.array([th[0][1], th[1][1]]))
    assert abs(r[0]) < 1e-12 * 1e4
    assert all(d[0] < 0 for d in d_p)        # more product: recombination wins
