"""The shortcuts that make small solves (sweep cases) cheaper change no state: a seeded predictor, a
skipped final residual, kept mesh segments, the capacitance's charge-only evaluation and the Dask
worker configuration that sim's own clusters use."""
import os

import numpy as np
import pytest

from sim.case import load_case
from sim.kinds.pnp import runner
from sim.kinds.pnp.build import build_problem
from sim.pnp import mesh as mesh_mod
from sim.pnp import observables as obs
from sim.pnp.newton import SolverOptions, solve_equilibrium

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _params(name="lco_lno_lps.toml"):
    return load_case(os.path.join(ROOT, "cases", name)).params


def test_seeded_predictor_reaches_the_same_state_in_fewer_iterations(monkeypatch):
    params = _params()
    U = runner.cathode_potential(params)
    near = solve_equilibrium(build_problem(params, potential_V=U))[0]
    p = build_problem(params, potential_V=U + runner.DCAP_STEP_V)
    psi0, c0, st0 = solve_equilibrium(p)
    psi1, c1, st1 = solve_equilibrium(p, seed=near)
    assert st1.predictor_iterations < st0.predictor_iterations
    assert np.max(np.abs(psi1 - psi0)) <= 1e-12 * np.max(np.abs(psi0))
    assert np.max(np.abs(c1 - c0)) <= 1e-12 * np.max(np.abs(c0))


def test_skipping_the_final_residual_changes_no_state():
    p = build_problem(_params())
    psi0, c0, st0 = solve_equilibrium(p)
    psi1, c1, st1 = solve_equilibrium(p, SolverOptions(final_residual=False))
    assert np.array_equal(psi0, psi1) and np.array_equal(c0, c1)
    assert np.isfinite(st0.final_residual) and st0.final_residual < 1e-9
    assert np.isnan(st1.final_residual)
    assert st1.newton_iterations == st0.newton_iterations


def test_kept_mesh_segments_equal_fresh_ones_and_cannot_be_changed():
    args = (7.3e-9, 2e-12, 5e-10, 1.08)
    mesh_mod._SEGMENTS.clear()
    first = mesh_mod.graded_segment(*args)
    again = mesh_mod.graded_segment(*args)
    assert again is first
    assert np.array_equal(first, mesh_mod._graded_segment(*args))
    assert abs(first.sum() - args[0]) <= 1e-15 * args[0]
    with pytest.raises(ValueError):
        first[0] = 1.0
    big = mesh_mod.graded_segment(5e-5, 1e-9, 1e-9, 1.0)          # 50,000 cells: not kept
    assert big.size > mesh_mod._CACHED_MAX_CELLS and len(mesh_mod._SEGMENTS) == 1


def test_kept_meshes_equal_fresh_ones_and_cannot_be_changed():
    args = ([20e-9, 5e-9, 20e-9], 2e-12, [5e-10, 5e-10, 5e-10], 1.08)
    mesh_mod._MESHES.clear()
    first = mesh_mod.layered_mesh(*args)
    assert mesh_mod.layered_mesh([20e-9, 5e-9, 20e-9], [2e-12] * 3, 5e-10, 1.08) is first   # the same values
    fresh = mesh_mod._layered_mesh(args[0], *(np.full(3, v, float) for v in (2e-12, 5e-10, 1.08)), (False, False))
    for name in ("faces", "layer_of_cell", "layer_faces"):
        assert np.array_equal(getattr(first, name), getattr(fresh, name))
        with pytest.raises(ValueError):
            getattr(first, name)[0] = 1
    assert mesh_mod.layered_mesh(*args[:3], 1.09) is not first
    big = mesh_mod.layered_mesh([5e-5], 1e-9, 1e-9, 1.0)                    # 50,000 cells: not kept
    assert big.n > mesh_mod._CACHED_MAX_CELLS and big.faces.flags.writeable


def test_capacitance_charge_equals_the_full_evaluation():
    p, psi, c, st = runner.solve(_params())
    q, dphi = obs.first_interface_left_charge(p, psi, c)
    ev = obs.evaluate(p, psi, c, w=st.w)
    assert q == ev["interfaces"][0]["left"]["charge"]
    assert dphi == ev["contact_potential"]


def test_differential_capacitance_matches_full_neighbour_solves():
    """The case's capacitance (seeded neighbours, no final residual) against two plain solves."""
    params = _params("lco_lps.toml")
    params["sweep"]["potential_V"] = None          # the single state only
    out = runner.run(params)
    U = runner.cathode_potential(params)
    q = []
    for d in (-runner.DCAP_STEP_V, runner.DCAP_STEP_V):
        p, psi, c, _ = runner.solve(params, U + d)
        q.append(obs.first_interface_left_charge(p, psi, c))
    expected = abs((q[1][0] - q[0][0]) / (q[1][1] - q[0][1]))
    assert out["pnp/observables/differential_capacitance"].value == pytest.approx(expected, rel=1e-11)


def test_sims_dask_workers_start_without_the_malloc_trim_threshold():
    dask = pytest.importorskip("dask")
    nanny = pytest.importorskip("distributed.nanny")
    from sim.studies.runner import DASK_WORKER_CONFIG
    if "MALLOC_TRIM_THRESHOLD_" not in nanny._get_env_variables("distributed.nanny.pre-spawn-environ"):
        pytest.skip("this Dask does not set MALLOC_TRIM_THRESHOLD_ in its workers")
    with dask.config.set(DASK_WORKER_CONFIG):
        assert "MALLOC_TRIM_THRESHOLD_" not in nanny._get_env_variables("distributed.nanny.pre-spawn-environ")


def _same_geometry(a, b):
    from dataclasses import fields
    for f in fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name == "comps":
            assert all(len(u) == len(v) and all(np.array_equal(s, t) for s, t in zip(u, v)) for u, v in zip(x, y))
        elif f.name != "shared":
            assert np.array_equal(np.asarray(x), np.asarray(y)), f.name


def test_geometry_is_reused_only_for_equal_data(monkeypatch):
    from sim.pnp import operator as op
    params = _params()
    U = runner.cathode_potential(params)
    p = build_problem(params, potential_V=U)
    g = op.geometry(p)
    q = build_problem(params, potential_V=U + runner.DCAP_STEP_V)      # other mu0 and boundary values only
    gq = op.geometry(q)
    assert gq is not g
    _same_geometry(gq, op._geometry(q))
    solve_equilibrium(p)                # the Jacobian's index pattern, built once, serves the copy too
    assert gq.shared is g.shared and "jacobian" in g.shared and "newton_step" in g.shared
    psi_q, c_q, _ = solve_equilibrium(q)
    g_new = op._geometry(q)
    assert "jacobian" not in g_new.shared
    from sim.pnp.newton import newton_step_matrix     # the kept pattern gives the same step matrix
    for a, b in zip(newton_step_matrix(q, gq, psi_q, c_q)[:3], newton_step_matrix(q, g_new, psi_q, c_q)[:3]):
        assert np.array_equal(a, b)
    q.D[0, 5] *= 2.0                   # changed in place after the geometry was kept: computed anew
    gd = op.geometry(q)
    assert gd.shared is not g.shared
    assert gd.D_f[0, 5] != g.D_f[0, 5] or gd.D_f[0, 4] != g.D_f[0, 4]
    _same_geometry(gd, op._geometry(q))
