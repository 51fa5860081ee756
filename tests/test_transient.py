"""Transient PNP: relaxation, conservation, ohmic limit, BDF order, FiPy agreement, protocols."""
import copy
import os
from dataclasses import replace

import numpy as np
import pytest

from sim.case import load_case
from sim.pnp import observables as obs
from sim.pnp import transient as tr
from sim.pnp.reference_problems import neutral_slab
from sim.kinds.pnp.build import build_problem, galvanostatic_problem
from sim.pnp.mesh import layered_mesh
from sim.pnp.newton import solve_equilibrium
from sim.pnp.problem import Problem
from sim.units import FARADAY, GAS_CONSTANT

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
T = 298.15


def coarse_case(name, **changes):
    prm = copy.deepcopy(load_case(os.path.join(ROOT, "cases", name)).params)
    prm["mesh"].update(h_min_m=5e-12, h_max_m=2e-9, growth=1.2)
    prm.update(changes)
    return prm


def slab_sigma(D=1e-13, c0=3.1e3, cs=3.1e4):
    return FARADAY ** 2 * D * c0 * (1 - c0 / cs) / (GAS_CONSTANT * T)


def test_neutral_slab_steady_voltage_is_ohmic():
    p = neutral_slab()
    psi0, c0 = p.initial_state()
    J = 10.0                                                    # 1 mA/cm2
    L = p.mesh.faces[-1]
    psi, c, st = tr.integrate(p, psi0, c0, tr.Galvanostatic(J), 20 * L ** 2 / 1e-13)
    eta = obs.overpotential(p, psi, c)                          # from the first cell centre
    assert eta == pytest.approx(J * (L - p.mesh.centers[0]) / slab_sigma(), rel=1e-6)


def test_potentiostatic_step_drives_ohmic_current():
    p = neutral_slab()
    psi0, c0 = p.initial_state()
    eta_eq = float(obs.eta_li(p, psi0, c0, 0)[0])
    dV = 1e-3
    proto = tr.Potentiostatic(dV, eta_eq)
    L = p.mesh.faces[-1]
    psi, c, _ = tr.integrate(p, psi0, c0, proto, 20 * L ** 2 / 1e-13)
    from sim.pnp import operator as op
    pt, _ = proto.boundary(p, 1.0)
    J = FARADAY * op.boundary_fluxes(pt, op.geometry(pt), psi, c)[1, 0]
    # linear response: J = sigma dV / L (the slab is uniform, so the scheme is exact up to O(dV^2))
    assert J == pytest.approx(slab_sigma() * dV / L, rel=2e-2)
    assert J > 0


def test_conservation_inventory_change_equals_charge_passed():
    p = neutral_slab()
    p = replace(p, c_bc=np.array([[np.nan], [np.nan]]), psi_bc=np.array([np.nan, np.nan]))   # closed but the influx
    psi0, c0 = p.initial_state()
    J = 10.0
    t_end = 0.05
    rec = []
    for method in ("bdf1", "bdf2"):
        psi, c, st = tr.integrate(p, psi0, c0, tr.Galvanostatic(J), t_end, opts=tr.TimeOptions(method=method))
        gained = obs.inventory(p, c)[0] - obs.inventory(p, c0)[0]
        rec.append(gained)
        assert gained == pytest.approx(J * t_end / FARADAY, rel=1e-10)
        assert st.accepted_steps > 10


def test_zero_current_relaxes_to_equilibrium():
    p = galvanostatic_problem(build_problem(coarse_case("lco_lps.toml"), potential_V=4.0))
    psi_eq, c_eq, _ = solve_equilibrium(p)
    li, e = obs.li_index(p), p.species.index("e")
    rng = np.random.default_rng(3)
    c = c_eq.copy()
    c[li] *= np.where(p.present[li], 1 + 0.05 * rng.uniform(-1, 1, p.n), 1.0)
    cells = np.flatnonzero(p.present[e])
    bump = 0.05 * np.sin(2 * np.pi * (np.arange(cells.size) + 0.5) / cells.size)
    dx = p.mesh.widths[cells]
    bump -= np.sum(bump * c_eq[e, cells] * dx) / np.sum(c_eq[e, cells] * dx)     # keep the electron inventory
    c[e, cells] *= 1 + bump
    psi, c_end, _ = tr.integrate(p, psi_eq * 0.9, c, tr.Galvanostatic(0.0), 1e3 * (40e-9) ** 2 / 2e-14)
    assert np.max(np.abs(psi - psi_eq)) < 1e-6 * np.max(np.abs(psi_eq))
    assert np.max(np.abs(c_end - c_eq) / p.c_max) < 1e-8


def two_ion_slab(n=60, L=50e-9, c0=1e3):
    """Cation and anion on no background: a neutral, smooth (ambipolar) relaxation problem."""
    mesh = layered_mesh([L], L / n, L / n, 1.0)
    ones = np.ones((2, n))
    return Problem(mesh=mesh, temperature_K=T, eps_r=np.full(n, 10.0), c_bg=np.zeros(n), species=["Li", "X"],
                   z=np.array([1.0, -1.0]), present=np.ones((2, n), bool), c_max=1e5 * ones, c_bulk=c0 * ones,
                   mu0=np.zeros((2, n)), D=np.array([[1e-13], [3e-13]]) * ones, closed=False, layer_names=["slab"])


@pytest.mark.parametrize("method,order", [("bdf1", 1), ("bdf2", 2)])
def test_time_convergence_order(method, order):
    p = two_ion_slab()
    x = p.mesh.centers / p.mesh.faces[-1]
    c0 = p.c_bulk * (1 + 0.2 * np.cos(np.pi * x))[None, :]
    psi0 = np.zeros(p.n)
    t_end = 0.2 * (50e-9) ** 2 / 1e-13

    def run(nsteps):
        opts = tr.TimeOptions(method=method, adaptive=False, dt_initial=t_end / nsteps)
        return tr.integrate(p, psi0, c0, tr.Galvanostatic(0.0), t_end, opts=opts)[1]

    ref = run(1024)
    errs = [np.max(np.abs(run(n) - ref)) for n in (16, 32, 64)]
    rates = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert np.all(np.abs(rates - order) < 0.15), rates



def test_butler_volmer_kinetic_drop_matches_analytic():
    prm = coarse_case("lco_lps.toml")
    prm["kinetics"] = {"exchange_current_density_mA_cm2": 1.0, "alpha": 0.5, "interface": 0}
    for layer in prm["layers"].values():        # one Li+ channel through the interface
        layer["carriers"] = "single"
    p = galvanostatic_problem(build_problem(prm, potential_V=3.9))
    psi0, c0, stats = solve_equilibrium(p)
    # equilibrium is unchanged by the kinetics
    p_ideal = replace(p, kinetics=None)
    psi_i, c_i, ideal = solve_equilibrium(p_ideal)
    assert np.max(np.abs(c0 - c_i) / p.c_max) < 1e-10
    # and is found from the ideal interface's state: a few Newton iterations more than that solve
    # (continuation from lam = 0 took 3758)
    assert stats.newton_iterations <= ideal.newton_iterations + 3
    J = 10.0
    psi, c, _ = tr.integrate(p, psi0, c0, tr.Galvanostatic(J, obs.li_index(p)), 1.0)
    kin = obs.voltage_breakdown(p, psi, c, J)["interfaces"][0]["kinetic"]
    i0 = 10.0
    assert kin == pytest.approx(2 * p.thermal_voltage * np.arcsinh(J / (2 * i0)), rel=1e-3)


def test_charging_deepens_depletion_and_lno_suppresses_it():
    from sim.kinds.pnp.transient import run
    res = {}
    for name in ("lco_lps_charging.toml", "lco_lno_lps_charging.toml"):
        prm = coarse_case(name)
        prm["transient"]["output_points"] = 6
        out = run(prm)
        n_if = len([k for k in out if k.startswith("pnp/transient/observables/interface_") and k.endswith("right/charge")])
        c = out["pnp/transient/c/Li_i"].value
        layer = build_problem(prm).mesh
        k = layer.layer_faces[-2]
        t = out["pnp/transient/time"].value
        last = [np.flatnonzero(np.isfinite(t[i]))[-1] for i in range(3)]
        res[name] = {"surface": np.array([c[i, last[i], k] for i in range(3)]), "initial": c[0, 0, k],
                     "w": out[f"pnp/transient/observables/interface_{n_if - 1}/right/thickness_1pct"].value,
                     "last": last, "stopped": out["pnp/transient/stats/stopped_at"].value}
    bare, lno = res["lco_lps_charging.toml"], res["lco_lno_lps_charging.toml"]
    # without LNO: the sulfide surface empties further with time and with current
    assert np.all(bare["surface"] < bare["initial"])
    assert bare["surface"][2] < bare["surface"][1] < bare["surface"][0]
    w = bare["w"]
    assert w[1, bare["last"][1]] > w[1, 0] and w[2, bare["last"][2]] > w[1, bare["last"][1]]
    # with LNO the sulfide side barely changes, and stays far less depleted
    assert np.all(lno["surface"] > 10 * bare["surface"])
    assert np.all(np.abs(lno["surface"] / lno["initial"] - 1) < 0.05)
