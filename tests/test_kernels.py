"""The compiled kernels (sim.pnp.kernels) against the NumPy operator they replace.

Each kernel is compared term by term with the NumPy code on the same state (Jacobian band,
fluxes, occupancies, the predictor), then whole solves are compared (equilibrium, one implicit
time step with interface kinetics, a closed relaxation with the gauge row) and one is checked
against an analytic limit.  Agreement is to rounding: the exponentials and sums are evaluated in
another order, so bit equality is not expected; 1e-12 of each quantity's scale is.
"""
import copy
import os
import warnings

import numpy as np
import pytest

from sim.case import load_case
from sim.kinds.pnp.build import build_problem, galvanostatic_problem, with_uniform_mesh
from sim.pnp import kernel_policy
from sim.pnp import newton as nw
from sim.pnp import operator as op
from sim.pnp import predictor as pr
from sim.pnp.analytic import debye_length, gouy_chapman_charge
from sim.pnp.mesh import layered_mesh
from sim.pnp.reference_problems import one_sided_layer
from sim.units import FARADAY

pytest.importorskip("numba")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _params(name):
    return copy.deepcopy(load_case(os.path.join(ROOT, "cases", name)).params)


def _uniform(prm, cells):
    return with_uniform_mesh(prm, cells)


def _geometries(p):
    g_np, g_k = op.geometry(p), op.geometry(p)
    g_np.kernel, g_k.kernel = False, True
    return g_np, g_k


def _perturbed_state(p, seed=0):
    """A state away from equilibrium with every kind of cell (saturated, dilute, absent)."""
    rng = np.random.default_rng(seed)
    psi = rng.normal(0.0, 3.0, p.n)
    w = np.where(p.present, rng.normal(0.0, 4.0, (p.n_species, p.n)), 0.0)
    return psi, nw.from_w(p, w), w


def _numpy_band(p, g, psi, c, w, dt=None):
    """The equilibrated band of the NumPy path in LAPACK (2 bw + 1, n) layout, and the row maxima."""
    cache = {}
    op.residual(p, g, psi, c, dt=dt, c_old=c if dt else None, w=w, cache=cache)
    rows, cols, vals, dense, m = nw.newton_step_matrix(p, g, psi, c, dt=dt, w=w, fluxes=cache)
    bw = 2 * m - 1
    R = nw.row_band(rows, cols, vals, (1 + p.n_species) * p.n, bw)
    rowmax = np.max(np.abs(R), axis=1)
    rowmax[rowmax == 0] = 1.0
    return nw.lapack_band(R / rowmax[:, None]), rowmax, cache


def _problems():
    open_p = build_problem(_params("lco_lno_lps.toml"))
    transient_p = galvanostatic_problem(build_problem(_params("lco_lps_charging.toml")))
    gauge_p = open_p.__class__(**{**open_p.__dict__, "psi_bc": np.array([np.nan, np.nan]), "closed": True})
    return {"open": (open_p, None), "transient, kinetics": (transient_p, 1e-3), "gauge row": (gauge_p, 1e-2)}


@pytest.mark.parametrize("name", ["open", "transient, kinetics", "gauge row"])
def test_jacobian_band_equals_numpy_assembly(name):
    p, dt = _problems()[name]
    g_np, g_k = _geometries(p)
    psi, c, w = _perturbed_state(p)
    ref, rowmax_ref, cache = _numpy_band(p, g_np, psi, c, w, dt)
    m = 1 + p.n_species
    bw = 2 * m - 1
    nw._WORK.band = np.full((m * p.n, 3 * bw + 1), 1e3)      # a work array left dirty by another solve
    abT, rowmax = nw._jacobian_band(p, g_k, psi, c, dt, w, cache)
    band = abT.T[bw:]                                # gbsv storage: the first bw rows are fill-in
    assert np.allclose(rowmax, rowmax_ref, rtol=1e-14, atol=0)
    assert np.max(np.abs(band - ref)) < 1e-14          # equilibrated entries are <= 1
    rhs = np.linspace(-1.0, 1.0, m * p.n)
    clean = nw.solve_banded(bw, bw, band.copy(), rhs)   # LAPACK on the same matrix in zeroed gbsv storage
    x, ok = kernel_policy.kernels().band_solve(abT, bw, bw, rhs)       # stale fill-in rows change nothing
    assert ok and np.max(np.abs(x - clean)) <= 1e-12 * np.max(np.abs(clean))


@pytest.mark.parametrize("name", ["open", "transient, kinetics", "gauge row"])
def test_residual_assembly_equals_numpy(name):
    """kernels.residual_assemble (via operator.residual_vector) against the NumPy residual,
    interleaved, with the storage term, prescribed inflows and the gauge row where they apply: to
    rounding against the NumPy path, bit for bit against the NumPy assembly of the same fluxes."""
    p, dt = _problems()[name]
    g_np, g_k = _geometries(p)
    psi, c, w = _perturbed_state(p, seed=3)
    flux_in = np.zeros((2, p.n_species))
    flux_in[0, 0] = 1e-4 if dt else 0.0
    c_old = c * 0.999 if dt else None
    kw = dict(c_old=c_old, dt=dt, boundary_flux_in=flux_in if dt else None, w=w)
    ref = nw.interleave(*op.residual(p, g_np, psi, c, steady_closed=False, **kw))
    cache = {}
    got = op.residual_vector(p, g_k, psi, c, cache=cache, **kw)
    m = 1 + p.n_species
    for j in range(m):                                       # each unknown's rows on their own scale
        scale = np.max(np.abs(ref[j::m]))
        assert np.max(np.abs(got[j::m] - ref[j::m])) <= 1e-12 * scale, (name, j)
    assert set(cache) >= {"face", "boundary", "one_minus"}     # what the Jacobian reads at this state
    # on the same (compiled) fluxes the NumPy assembly gives the same bits: the kernel keeps its order
    same_fluxes = nw.interleave(*op.residual(p, g_k, psi, c, steady_closed=False, **kw))
    assert np.array_equal(got, same_fluxes)
    if name == "gauge row":
        assert got[m * (p.n - 1)] == psi[-1]


def _gbsv_storage(A, kl, ku, fill=np.nan):
    """(LAPACK band ab (kl + ku + 1, n), the kernel's transposed gbsv storage with junk fill-in rows)."""
    n = A.shape[0]
    ab = np.zeros((kl + ku + 1, n))
    for j in range(n):
        for i in range(max(0, j - ku), min(n, j + kl + 1)):
            ab[ku + i - j, j] = A[i, j]
    abT = np.full((n, 2 * kl + ku + 1), fill)
    abT[:, kl:] = ab.T
    return ab, abT


@pytest.mark.parametrize("n, kl, ku", [(1, 0, 0), (2, 3, 3), (6, 1, 1), (9, 3, 3), (40, 7, 7), (300, 7, 7),
                                       (60, 2, 5)])
def test_band_solve_equals_lapack_with_pivoting(n, kl, ku):
    """LU with partial pivoting: random bands with a zero diagonal (every column must pivot)."""
    import scipy.linalg
    rng = np.random.default_rng(n + 10 * kl)
    A = np.zeros((n, n))
    for d in range(-kl, ku + 1):
        if n - abs(d) > 0:
            A += np.diag(rng.standard_normal(n - abs(d)), d)
    if kl > 0:
        A[np.arange(n), np.arange(n)] = 0.0
    b = rng.standard_normal(n)
    ab, abT = _gbsv_storage(A, kl, ku)
    assert np.linalg.matrix_rank(A) == n          # (an odd tridiagonal with zero diagonal would be singular)
    ref = scipy.linalg.solve_banded((kl, ku), ab, b)
    x, ok = kernel_policy.kernels().band_solve(abT, kl, ku, b.copy())
    assert ok
    assert np.max(np.abs(x - ref)) <= 1e-12 * np.max(np.abs(ref))
    assert np.max(np.abs(A @ x - b)) <= 1e-10 * np.max(np.abs(b))


def test_band_solve_reports_a_singular_matrix():
    A = np.diag([1.0, 2.0, 0.0, 4.0]) + np.diag([1.0, 1.0, 1.0], 1)
    A[3, 2] = 0.0
    A[2, 3] = 0.0                      # column 2 is zero below and on the diagonal: no pivot
    _, abT = _gbsv_storage(A, 1, 1)
    _, ok = kernel_policy.kernels().band_solve(abT, 1, 1, np.ones(4))
    assert not ok


@pytest.mark.parametrize("use_w", [True, False])
def test_occupancy_and_face_flux_kernels_equal_numpy(use_w):
    p = _problems()["transient, kinetics"][0]
    g_np, g_k = _geometries(p)
    psi, c, w = _perturbed_state(p, seed=1)
    w = w if use_w else None
    t_np = op._phi(p, psi, c, w)
    t_k = op.effective_potential(p, g_k, psi, c, w)
    for a, b in zip(t_np, t_k):
        assert np.allclose(a, b, rtol=1e-13, atol=0)
    f_np = op.face_fluxes(p, g_np, psi, c, with_derivatives=True, w=w, phi_terms=t_np)
    f_k = op.face_fluxes(p, g_k, psi, c, with_derivatives=True, w=w, phi_terms=t_k)
    for a, b in zip(f_np, f_k):
        assert np.max(np.abs(a - b)) <= 1e-12 * np.max(np.abs(a))


def test_boundary_flux_and_occupancy_kernels_equal_numpy():
    """kernels.boundary_terms on each kind of boundary state (a Dirichlet concentration at psi_bc, one
    at the cell's potential where psi_bc is free, a reservoir at eta_bc) and occupancy_from_w, against
    the NumPy code, at a state far from equilibrium."""
    base = _problems()["open"][0]
    free = base.__class__(**{**base.__dict__, "psi_bc": np.array([base.psi_bc[0], np.nan])})
    eta = np.full((2, base.n_species), np.nan)
    eta[1] = np.where(np.isfinite(base.c_bc[1]), 1.5, np.nan)
    reservoir = base.__class__(**{**base.__dict__, "c_bc": np.full_like(base.c_bc, np.nan), "eta_bc": eta})
    for p in (base, free, reservoir):
        g_np, g_k = _geometries(p)
        psi, c, w = _perturbed_state(p, seed=5)
        ref = op.boundary_fluxes(p, g_np, psi, c, with_derivatives=True, w=w)
        got = op.boundary_fluxes(p, g_k, psi, c, with_derivatives=True, w=w)
        assert np.any(ref[0] != 0.0)
        for a, b in zip(ref, got):
            assert np.max(np.abs(a - b)) <= 1e-12 * np.max(np.abs(a))
        assert np.allclose(nw.from_w(p, w, kernel=True), nw.from_w(p, w), rtol=1e-14, atol=0)


def test_bernoulli_kernel_matches_numpy_on_every_branch():
    from sim.pnp import kernels as K
    t = np.array([-800.0, -50.0, -1.0, -1e-3, -1e-5, 0.0, 3e-5, 1e-4, 0.5, 40.0, 700.0, 720.0])
    B, dB = op.bernoulli(t)
    Bk = np.array([K._bernoulli(x)[0] for x in t])
    dBk = np.array([K._bernoulli(x)[1] for x in t])
    assert np.allclose(Bk, B, rtol=1e-15, atol=1e-300)
    assert np.allclose(dBk, dB, rtol=1e-15, atol=1e-300)


def test_bernoulli_pair_from_one_exponential_matches_both_directions():
    """kernels._bernoulli_pair(t) = (B(t), B'(t), B(-t), B'(-t)) with B(-u) = u + B(u): against the
    NumPy function in both directions, on every branch: B to a few ulp, B' to 2e-13 absolute (just above
    the series threshold (B/t)(1 - B) - B loses eps/|t| in either form)."""
    from sim.pnp import kernels as K
    t = np.array([-800.0, -50.0, -1.0, -1e-3, -1e-5, 0.0, 3e-5, 1e-4, 0.5, 40.0, 700.0, 720.0])
    for sign in (1.0, -1.0):
        B, dB = op.bernoulli(sign * t)
        got = np.array([K._bernoulli_pair(x)[0 if sign > 0 else 2] for x in t])
        dgot = np.array([K._bernoulli_pair(x)[1 if sign > 0 else 3] for x in t])
        assert np.allclose(got, B, rtol=4e-16, atol=1e-300)
        assert np.allclose(dgot, dB, rtol=4e-16, atol=2e-13)
    u = 30.0                                       # exact at large u: B(-u) = u + u e^-u (1 + ...), B'(-u) -> -1
    assert K._bernoulli_pair(-u)[0] == pytest.approx(u / -np.expm1(-u), rel=1e-16)
    assert K._bernoulli_pair(-800.0)[1] == -1.0 and K._bernoulli_pair(800.0)[:2] == (0.0, 0.0)


def test_predictor_kernel_reaches_the_same_equilibrium_in_fewer_iterations():
    p = build_problem(_uniform(_params("lco_lno_lps.toml"), 3000))
    g_np, g_k = _geometries(p)
    psi_np, c_np, w_np, its_np = pr.solve_psi(p, g_np)
    psi_k, c_k, w_k, its_k = pr.solve_psi(p, g_k)
    assert np.max(np.abs(psi_k - psi_np)) < 1e-12 * np.ptp(psi_np)
    assert np.max(np.abs(c_k - c_np)) < 1e-12 * np.max(c_np)
    assert its_k < its_np                 # the neutral-layer start: the bulk is already right


def test_predictor_handoff_leaves_the_last_correction_to_the_coupled_newton(monkeypatch):
    """With a handoff the compiled predictor stops two iterations early on the one-sided layer (20 kT/e)
    and on the layered default case; what it leaves is below the coupled tolerance, so the coupled
    Newton still converges in one iteration, to the fully converged predictor's state."""
    monkeypatch.setenv("SIM_KERNELS", "numba")
    lam = 40 * debye_length(9.0, 3.1e3, 298.15)
    for p in (one_sided_layer(20.0, mesh=layered_mesh([lam], lam / 4000, lam / 4000, 1.0)),
              build_problem(_uniform(_params("lco_lno_lps.toml"), 4000))):
        g = op.geometry(p)
        assert g.kernel
        full = pr.solve_psi(p, g)
        early = pr.solve_psi(p, g, handoff=0.1 * nw.SolverOptions().tol)
        scale = max(1.0, np.ptp(full[0]))
        assert early[3] <= full[3] - 2
        assert 0 < np.max(np.abs(early[0] - full[0])) / scale < nw.SolverOptions().tol
        psi, c, st = nw.solve_equilibrium(p)
        assert st.newton_iterations == 1 and st.predictor_iterations == early[3]
        assert np.max(np.abs(psi - full[0])) / scale < 1e-14


def test_neutral_start_is_charge_neutral_in_every_layer():
    p = build_problem(_params("lco_lno_lps.toml"))
    eta = pr.reservoir_levels(p)
    psi = pr.neutral_start(p, eta)
    w = np.where(p.present, eta - p.mu0 - p.z[:, None] * psi[None, :], -np.inf)
    rho = np.sum(p.z[:, None] * np.where(p.present, p.c_max, 0.0) / (1 + np.exp(-w)), axis=0) - p.c_bg
    scale = np.sum(np.abs(p.z[:, None]) * np.where(p.present, p.c_bulk, 0.0), axis=0)
    assert np.all(np.abs(rho) <= 1e-9 * scale)
    assert len(np.unique(np.round(psi, 9))) == len(p.layer_names)     # one level per layer


def test_compiled_neutral_start_equals_the_reference():
    """kernels.neutral_start gives predictor.neutral_start's psi bit for bit: layered, one-sided, and a
    layer whose background varies from cell to cell (it starts at 0, the others at their level)."""
    layered = build_problem(_params("lco_lno_lps.toml"))
    uneven = layered.__class__(**{**layered.__dict__, "c_bg": layered.c_bg * (1 + 1e-9 * (np.arange(layered.n) == 3))})
    for p in (layered, one_sided_layer(20.0), uneven):
        eta = pr.reservoir_levels(p)
        ref = pr.neutral_start(p, eta)
        got = kernel_policy.kernels().neutral_start(
            np.where(p.present, eta, 0.0), np.asarray(p.mu0, float), np.asarray(p.z, float),
            np.where(p.present, p.c_max, 0.0), p.present, np.asarray(p.c_bg, float), p.mesh.layer_of_cell)
        assert np.array_equal(got, ref)
    assert np.all(got[p.mesh.layer_of_cell == p.mesh.layer_of_cell[3]] == 0.0) and np.any(got != 0.0)


@pytest.mark.parametrize("cells", [2400, 9000])
def test_equilibrium_solves_agree(monkeypatch, cells):
    p = build_problem(_uniform(_params("lco_lno_lps.toml"), cells))
    monkeypatch.setenv("SIM_KERNELS", "numpy")
    psi_np, c_np, st_np = nw.solve_equilibrium(p)
    monkeypatch.setenv("SIM_KERNELS", "numba")
    psi_k, c_k, st_k = nw.solve_equilibrium(p)
    assert st_k.kernels.startswith("numba") and st_np.kernels == "numpy"
    assert st_k.newton_iterations == st_np.newton_iterations
    assert np.max(np.abs(psi_k - psi_np)) < 1e-12 * np.ptp(psi_np)
    assert np.max(np.abs(c_k - c_np) / np.maximum(c_np, 1e-300) * p.present) < 1e-12


def test_kernel_solve_meets_gouy_chapman(monkeypatch):
    monkeypatch.setenv("SIM_KERNELS", "numba")
    mesh = one_sided_layer(1.0, h_min_debye=0.02, h_max_debye=0.5, growth=1.1).mesh.refined(16)
    p = one_sided_layer(5.0, mesh=mesh)
    psi, c, st = nw.solve_equilibrium(p)
    q = abs(FARADAY * np.sum((np.sum(p.z[:, None] * c, axis=0) - p.c_bg) * p.mesh.widths))
    assert st.kernels.startswith("numba")
    assert q == pytest.approx(gouy_chapman_charge(5.0, 9.0, 3.1e3, 298.15), rel=1e-5)


def test_implicit_step_with_kinetics_agrees():
    """One backward-Euler Newton solve of the charging problem (Butler-Volmer face, dt term)."""
    base = build_problem(_uniform(_params("lco_lps_charging.toml"), 2500))
    psi0, c0, st = nw.solve_equilibrium(base)
    p = galvanostatic_problem(base)
    flux = np.zeros((2, p.n_species))
    li = p.species.index("Li_i") if "Li_i" in p.species else 0
    flux[0, li] = 10.0 / FARADAY                     # 1 mA/cm^2 into the domain
    out = []
    for kernel in (False, True):
        g = op.geometry(p)
        g.kernel = kernel
        stats = nw.SolveStats()
        psi, c = nw.newton(p, g, psi0.copy(), c0.copy(), nw.SolverOptions(), stats, c_old=c0, dt=1e-3,
                           boundary_flux_in=flux, w=st.w)
        out.append((psi, c, stats.newton_iterations))
    (psi_np, c_np, n_np), (psi_k, c_k, n_k) = out
    assert n_np == n_k
    assert np.max(np.abs(psi_k - psi_np)) < 1e-12 * max(1.0, np.ptp(psi_np))
    assert np.max(np.abs(c_k - c_np)) < 1e-12 * np.max(c_np)


def _both_loops(monkeypatch, p, g, psi, c, w, opts, **kw):
    """newton on the kernel path with its loop compiled (kernels.newton_loop) and in Python: (psi, c,
    stats) or the exception, for each."""
    out = []
    for compiled in (True, False):
        monkeypatch.setattr(nw, "COMPILED_LOOP", compiled)
        stats = nw.SolveStats()
        try:
            psi_, c_ = nw.newton(p, g, psi.copy(), c.copy(), opts, stats, w=w, **kw)
            out.append((psi_, c_, stats))
        except (nw.ConvergenceError, np.linalg.LinAlgError) as e:
            out.append((e, stats))
    return out


def test_compiled_newton_loop_takes_the_python_loops_iterates(monkeypatch):
    """kernels.newton_loop is newton's loop on the same kernels: from a perturbed state (damping and
    backtracking), on an implicit time step (storage term and inflow) and from the predictor's start,
    the same iterations, residual histories and states; and the same exceptions when it fails."""
    monkeypatch.setenv("SIM_KERNELS", "numba")
    lam = 40 * debye_length(9.0, 3.1e3, 298.15)
    layered = build_problem(_uniform(_params("lco_lno_lps.toml"), 600))
    one_sided = one_sided_layer(20.0, mesh=layered_mesh([lam], lam / 500, lam / 500, 1.0))
    step = galvanostatic_problem(build_problem(_uniform(_params("lco_lps_charging.toml"), 500)))
    flux = np.zeros((2, step.n_species))
    flux[0, step.species.index("Li_i")] = 10.0 / FARADAY
    cases = []
    for p in (layered, one_sided):
        g = op.geometry(p)
        psi0, c0, w0, _ = pr.solve_psi(p, g)
        psi_p, _, w_p = _perturbed_state(p, seed=3)
        w_mix = np.where(p.present, w0 + 0.12 * w_p, 0.0)     # near enough to converge, far enough to backtrack
        cases.append((p, g, psi0 + 0.12 * psi_p, nw.from_w(p, w_mix), w_mix, {}))
    base_eq = nw.solve_equilibrium(build_problem(_uniform(_params("lco_lps_charging.toml"), 500)))
    cases.append((step, op.geometry(step), base_eq[0], base_eq[1], base_eq[2].w,
                  {"c_old": base_eq[1], "dt": 1e-3, "boundary_flux_in": flux}))
    for p, g, psi, c, w, kw in cases:
        assert g.kernel
        (psi_c, c_c, st_c), (psi_py, c_py, st_py) = _both_loops(monkeypatch, p, g, psi, c, w, nw.SolverOptions(), **kw)
        assert st_c.newton_iterations == st_py.newton_iterations >= 2
        assert np.allclose(st_c.residual_history, st_py.residual_history, rtol=1e-12, atol=0)
        assert np.max(np.abs(psi_c - psi_py)) <= 1e-13 * max(1.0, np.ptp(psi_py))
        assert np.max(np.abs(c_c - c_py)) <= 1e-13 * np.max(c_py)
        assert np.max(np.abs(st_c.w - st_py.w)) <= 1e-12 * max(1.0, np.max(np.abs(st_py.w)))
    p, g, psi, c, w, _ = cases[0]
    psi0, _, w0, _ = pr.solve_psi(p, g)
    psi_p, _, w_p = _perturbed_state(p, seed=3)
    w_far = np.where(p.present, w0 + 0.2 * w_p, 0.0)             # backtracks for a few iterations, then diverges
    for opts, text, start in ((nw.SolverOptions(max_iter=1), "did not converge in 1 iterations", (psi, c, w)),
                              (nw.SolverOptions(divergence_step=1e-3), "Newton diverging", (psi, c, w)),
                              (nw.SolverOptions(), "Newton diverging", (psi0 + 0.2 * psi_p, nw.from_w(p, w_far), w_far)),
                              (nw.SolverOptions(), "residual is NaN", (np.where(np.arange(p.n) == 3, np.nan, psi), c, w))):
        (e_c, st_c), (e_py, st_py) = _both_loops(monkeypatch, p, g, *start, opts)
        assert text in str(e_c) and str(e_c) == str(e_py)
        assert e_c.residuals == pytest.approx(e_py.residuals, rel=1e-12)
        assert st_c.newton_iterations == st_py.newton_iterations


def test_closed_relaxation_with_gauge_row_agrees(monkeypatch):
    prm = _uniform(_params("lco_lps.toml"), 400)
    prm["ensemble"] = "closed"
    p = build_problem(prm)
    results = []
    for how in ("numpy", "numba"):
        monkeypatch.setenv("SIM_KERNELS", how)
        results.append(nw.relax_closed(p))
    (psi_np, c_np, _), (psi_k, c_k, st_k) = results
    assert st_k.kernels.startswith("numba")
    assert np.max(np.abs(psi_k - psi_np)) < 1e-9 * max(1.0, np.ptp(psi_np))
    assert np.max(np.abs(c_k - c_np)) < 1e-9 * np.max(c_np)


def test_policy(monkeypatch):
    monkeypatch.setenv("SIM_KERNELS", "numpy")
    assert not kernel_policy.use_kernels(10 ** 6) and kernel_policy.describe(10 ** 6) == "numpy"
    monkeypatch.setenv("SIM_KERNELS", "numba")
    assert kernel_policy.use_kernels(10) and kernel_policy.describe(10).startswith("numba ")
    monkeypatch.setenv("SIM_KERNELS", "auto")
    assert not kernel_policy.use_kernels(kernel_policy.MIN_CELLS - 1)
    assert kernel_policy.use_kernels(kernel_policy.MIN_CELLS)
    monkeypatch.setenv("SIM_KERNELS", "fast please")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        kernel_policy._WARNED.clear()
        assert kernel_policy.choice() == "auto"
    assert any("SIM_KERNELS" in str(w.message) for w in caught)


def test_shipped_case_records_the_numpy_path():
    """The shipped cases run below MIN_CELLS: the NumPy path, whose numbers the stored reference
    arrays hold bit for bit (tests/test_reference_arrays.py); the result file says so."""
    from sim.kinds.pnp.runner import run
    prm = _params("lco_lps.toml")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = run(prm)
    assert out["pnp/mesh/n_cells"].value < kernel_policy.MIN_CELLS
    assert out["pnp/solver/kernels"].value == "numpy"
