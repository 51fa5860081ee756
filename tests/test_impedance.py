"""Impedance spectra: analytic cells, DC limit against the transient solver, Kramers-Kronig,
equivalent-circuit fits, the case runner and its error handling."""
import copy
import os
from dataclasses import replace

import numpy as np
import pytest

from sim.case import load_case
from sim.errors import CaseError
from sim.pnp import circuits as cc
from sim.pnp import impedance as imp
from sim.pnp import observables as obs
from sim.pnp import transient as tr
from sim.pnp.analytic import debye_length
from sim.pnp.reference_problems import neutral_slab
from sim.kinds.pnp.build import build_problem, galvanostatic_problem
from sim.pnp.mesh import layered_mesh
from sim.pnp.newton import solve_equilibrium
from sim.units import FARADAY, GAS_CONSTANT, VACUUM_PERMITTIVITY

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
T = 298.15


def test_neutral_slab_between_reversible_electrodes_is_bulk_r_parallel_geometric_c():
    p = neutral_slab(length_m=50e-9, h_m=0.5e-9)
    c0, cs = p.c_bulk[0, 0], p.c_max[0, 0]
    p = replace(p, psi_bc=np.array([0.0, 0.0]), c_bc=np.array([[c0], [c0]]))
    psi, c, st = solve_equilibrium(p)
    f = np.geomspace(1e-2, 1e12, 30)
    Z = imp.voltage_drive(p, psi, c, f, w=st.w)
    R = 50e-9 / (FARADAY ** 2 * p.D[0, 0] * c0 * (1 - c0 / cs) / (GAS_CONSTANT * T))
    C = VACUUM_PERMITTIVITY * 9.0 / 50e-9
    assert np.max(np.abs(Z / (R / (1 + 2j * np.pi * f * R * C)) - 1)) < 1e-6


from sim.verification.impedance import C0, D, EPS_R, analytic, cell as blocking_cell  # noqa: E402

LAM = debye_length(EPS_R, C0, T)       # dilute carrier on a background: lambda = 2.6 nm
L = 40 * LAM


def blocking_analytic(f):
    return analytic(f, LAM, L)


def test_blocking_cell_matches_the_analytic_impedance_at_second_order():
    f = np.geomspace(1e-2, 1e9, 23)
    base = layered_mesh([L], 0.05 * LAM, 0.5 * LAM, 1.1, grade_outer=(True, True))
    errs = []
    for r in (1, 2, 4):
        p = blocking_cell(base.refined(r) if r > 1 else base)
        psi, c = p.initial_state()
        errs.append(np.max(np.abs(imp.voltage_drive(p, psi, c, f) / blocking_analytic(f) - 1)))
    orders = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert np.all(np.abs(orders - 2) < 0.1), orders
    assert errs[-1] < 2e-4
    # low frequency: the two diffuse-layer (Gouy-Chapman) capacitances eps / lambda in series
    Z = imp.voltage_drive(p, psi, c, np.array([1e-3]))
    C_low = -1 / (2 * np.pi * 1e-3 * Z[0].imag)
    assert C_low == pytest.approx(VACUUM_PERMITTIVITY * EPS_R / (2 * LAM), rel=1e-4)
    # high frequency: bulk resistance in parallel with the geometric capacitance
    R_b = L / (FARADAY ** 2 * D * C0 / (GAS_CONSTANT * T))
    C_g = VACUUM_PERMITTIVITY * EPS_R / L
    f_hi = np.array([1e3 / (2 * np.pi * R_b * C_g)])
    assert imp.voltage_drive(p, psi, c, f_hi)[0] == pytest.approx(R_b / (1 + 2j * np.pi * f_hi[0] * R_b * C_g), rel=1e-3)


@pytest.mark.parametrize("ratio, h_min, growth", [(5, 0.025, 1.05), (40, 0.025, 1.05), (1000, 0.025, 1.05)])
def test_blocking_cell_is_right_at_every_frequency(ratio, h_min, growth):
    """|Z| within 1e-3 and Re Z within 1 % from 1e-4 to 1e11 Hz (Re Z is ~1e-13 of |Z| at 1e-4 Hz for
    L = 1000 lambda and ~1e-8 at 1e11 Hz): the conservation rows and the reference responses keep it.
    Meshes: h_min = 0.025 lambda at both electrodes, growth 1.05, h_max = min(lambda / 2, L / 20)."""
    length = ratio * LAM
    mesh = layered_mesh([length], h_min * LAM, min(0.5 * LAM, length / 20), growth, grade_outer=(True, True))
    p = blocking_cell(mesh)
    psi, c = p.initial_state()
    f = np.geomspace(1e-4, 1e11, 31)
    Z, Za = imp.voltage_drive(p, psi, c, f), analytic(f, LAM, length)
    assert np.max(np.abs(Z / Za - 1)) < 1e-3
    assert np.max(np.abs(Z.real / Za.real - 1)) < 1e-2
    assert np.all(Z.real > 0) and np.all(Z.imag < 0)        # e^{iwt}: a capacitor has Z'' < 0


def _lco_lps():
    prm = copy.deepcopy(load_case(os.path.join(ROOT, "cases", "lco_lps.toml")).params)
    prm["mesh"].update(h_min_m=5e-12, h_max_m=2e-9, growth=1.2)
    p = galvanostatic_problem(build_problem(prm, potential_V=3.9))
    psi, c, st = solve_equilibrium(p)
    return p, psi, c, st


def test_low_frequency_limit_equals_the_dc_resistance_of_the_transient_solver():
    p, psi, c, st = _lco_lps()
    li = obs.li_index(p)
    Z0 = imp.current_drive(p, psi, c, np.array([1e-5]), li, w=st.w)[0]
    J = 1e-3
    opts = tr.TimeOptions(rtol=1e-8, atol_psi=1e-10, atol_c=1e-14)
    psi1, c1, _ = tr.integrate(p, psi, c, tr.Galvanostatic(J, li), 100.0, opts=opts)
    R_dc = obs.overpotential(p, psi1, c1) / J
    assert Z0.real == pytest.approx(R_dc, rel=1e-4)
    assert abs(Z0.imag) < 1e-4 * Z0.real


def test_spectrum_passes_kramers_kronig_and_a_non_causal_one_fails():
    p, psi, c, st = _lco_lps()
    f = imp.frequencies(1e-4, 1e9, 12)
    Z = imp.current_drive(p, psi, c, f, obs.li_index(p), w=st.w)
    rr, ri, M = cc.lin_kk(f, Z, per_decade=5)
    assert max(np.max(np.abs(rr)), np.max(np.abs(ri))) < 1e-3
    rr, ri, M = cc.lin_kk(f, np.conj(Z), per_decade=5)
    assert max(np.max(np.abs(rr)), np.max(np.abs(ri))) > 0.1


def test_circuit_fit_recovers_its_own_parameters_with_uncertainties():
    f = np.geomspace(1e-3, 1e7, 61)
    circ = "p(R0,C0)-p(R1,CPE1)-p(R2,CPE2)"
    true = [1e-4, 1e-5, 3e-3, 5e-2, 0.85, 5e-2, 2.0, 0.95]
    Z = cc.evaluate(circ, true, f)
    p, se, rms = cc.best_fit(circ, f, Z)
    assert np.allclose(p, true, rtol=1e-6) and rms < 1e-8
    noisy = Z * (1 + 0.01 * np.random.default_rng(0).normal(size=f.size))
    p, se, rms = cc.fit(circ, f, noisy, true)
    assert np.all(np.abs(np.array(p) - true) < 5 * se + 1e-12)
    with pytest.raises(ValueError):
        cc.parse("p(R0,X1)")


def test_impedance_case_writes_spectra_fits_and_figures(tmp_path):
    from sim.figures import render_all
    from sim.io import read_result
    from sim.run import run_case
    text = open(os.path.join(ROOT, "cases", "lco_lno_lps_impedance.toml")).read()
    text = text.replace("temperatures_K = [298.15, 313.15, 333.15, 353.15]", "temperatures_K = [298.15, 353.15]")
    text = text.replace("h_min_m = 2e-12", "h_min_m = 5e-12").replace("h_max_m = 5e-10", "h_max_m = 2e-9").replace(
        "growth = 1.08", "growth = 1.2")
    (tmp_path / "c.toml").write_text(text)
    r = read_result(run_case(tmp_path / "c.toml", tmp_path / "o.h5"))
    g = "pnp/impedance/T_298.15K"
    assert r[f"{g}/z_real"].units == "ohm cm^2" and r[f"{g}/frequency"].units == "Hz"
    R = {k: r.value(f"pnp/impedance/fit_resistance/{k}") for k in r.groups("pnp/impedance/fit_resistance")}
    assert r.value("pnp/impedance/circuit") == "p(R0,C0)-p(R1,CPE1)-p(R2,CPE2)-p(R3,CPE3)"   # auto: a block per layer
    assert "bulk_of_sse" in R                                    # blocks named by the process they stand for
    assert R["bulk_of_sse"][1] < R["bulk_of_sse"][0]              # Arrhenius: the bulk resistance falls with T
    # the LPS bulk arc: L / sigma of 20 nm of LPS (1.6e-4 S/cm at 25 C) within 20 % (the arcs overlap)
    assert R["bulk_of_sse"][0] == pytest.approx(20e-7 / 1.6e-4, rel=0.2)
    assert r[f"{g}/fit/R0"].attrs["standard_error"] > 0
    # the fitted resistances add up to the low-frequency resistance
    total = np.nansum(np.array(list(R.values())), axis=0)
    assert np.allclose(total, r.value("pnp/impedance/low_frequency_resistance"), rtol=0.05)
    names = {os.path.basename(str(p)) for p in render_all(tmp_path / "o.h5", tmp_path / "f", ("png",))}
    assert {"impedance_nyquist.png", "impedance_bode.png", "impedance_arrhenius.png"} <= names


def test_measured_csv_is_fitted_and_bad_files_are_clean_errors(tmp_path):
    from sim.kinds.pnp.impedance import read_measured
    f = np.geomspace(1, 1e5, 20)
    Z = cc.evaluate("p(R0,C0)", [2e-4, 1e-5], f) * 1e4
    (tmp_path / "m.csv").write_text("# f_Hz, z_real, z_imag\n" + "\n".join(f"{a},{b.real},{b.imag}" for a, b in zip(f, Z)))
    fm, Zm = read_measured("m.csv", tmp_path)
    assert np.allclose(Zm * 1e4, Z)
    (tmp_path / "bad.csv").write_text("1,2\n")
    with pytest.raises(CaseError, match="impedance.measured_csv"):
        read_measured(tmp_path / "bad.csv")



@pytest.mark.parametrize("extra, key", [
    ('circuit = "p(R0,Q1)"', "impedance.circuit"),
    ("frequency_min_Hz = 1.0\nfrequency_max_Hz = 1e-4", "impedance.frequency_min_Hz"),
    ('electrodes = "blocking"\nbias_current_density_mA_cm2 = 1.0', "impedance.bias_current_density_mA_cm2"),
])
def test_bad_impedance_keys_are_one_clear_error(tmp_path, extra, key):
    text = open(os.path.join(ROOT, "cases", "lco_lps_impedance.toml")).read()
    key_name = extra.split(" =")[0]
    text = "\n".join(l for l in text.splitlines() if not l.startswith(key_name + " ="))
    text = text.replace("points_per_decade = 6", "points_per_decade = 6\n" + extra)
    (tmp_path / "c.toml").write_text(text)
    with pytest.raises(CaseError) as e:
        load_case(tmp_path / "c.toml")
    assert key in str(e.value)


@pytest.mark.parametrize("ratio", [5, 40, 1000])
def test_fit_of_the_blocking_cell_gives_the_low_frequency_resistance(ratio):
    """The auto circuit of a blocking cell, p(R0,C0)-CPE_electrodes, fitted from the spectrum's own
    relaxation times: R0 within 1 % of the analytic Re Z(w -> 0) (measured: 0.98 %, 0.1 %, 2e-5) and no
    warning; a circuit without the electrodes' capacitance fails, and says so."""
    from sim.kinds.pnp.impedance import auto_circuit
    length = ratio * LAM
    p = blocking_cell(layered_mesh([length], 0.025 * LAM, min(0.5 * LAM, length / 20), 1.05, grade_outer=(True, True)))
    psi, c = p.initial_state()
    f = imp.frequencies(1e-4, 1e11, 6)
    Z = imp.voltage_drive(p, psi, c, f)
    circ = auto_circuit(p, "blocking")
    assert circ == "p(R0,C0)-CPE_electrodes"
    fit = cc.best_fit(circ, f, Z)
    assert fit.params[0] == pytest.approx(analytic(np.array([1e-9]), LAM, length)[0].real, rel=0.01)
    assert not fit.warnings
    bad = cc.best_fit("p(R0,C0)", f, Z)
    assert any("does not describe" in w for w in bad.warnings)


def test_circuits_and_temperatures_that_name_one_thing_twice_are_refused(tmp_path):
    with pytest.raises(ValueError, match="appears twice"):
        cc.parse("p(R0,C0)-p(R0,C0)")
    text = open(os.path.join(ROOT, "cases", "lco_lps_impedance.toml")).read()
    text = text.replace("temperatures_K = [298.15, 313.15, 333.15, 353.15]", "temperatures_K = [298.15, 298.151]")
    (tmp_path / "c.toml").write_text(text)
    with pytest.raises(CaseError, match="same temperature"):
        load_case(tmp_path / "c.toml")


def test_the_state_under_li_exchanging_electrodes_is_the_open_equilibrium():
    """The impedance's operating point under the transient's boundary conditions keeps the open equilibrium's
    inventories: the same state, not one whose cathode holds the bulk's electron count (which is 0.6 % off
    in a 20 nm LCO layer by the space charge, and moved the cathode-side excess resistance 4.5-fold)."""
    from sim.kinds.pnp.impedance import steady_state
    from sim.kinds.pnp.runner import solve
    from conftest import COARSE
    case = load_case(os.path.join(ROOT, "cases", "lco_lps_impedance.toml"), COARSE)
    p, psi, c, w = steady_state(case.params, 298.15)
    p0, psi0, c0, st = solve(case.params, case.params["cathode"]["potential_V"])
    assert np.max(np.abs(psi - psi0)) <= 1e-9 * np.ptp(psi0)
    assert np.max(np.abs(c - c0) / np.max(c0, axis=1, keepdims=True)) <= 1e-9
    r = obs.evaluate(p, psi, c, w=w)["total_excess_resistance"]
    assert r == pytest.approx(obs.evaluate(p0, psi0, c0, w=st.w)["total_excess_resistance"], rel=1e-6)
