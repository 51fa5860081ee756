"""Defect-chemistry model: Swift-Qi double layer, first integral over potentials and formation
energies, FiPy agreement, Nernst-Einstein consistency, cathode-potential split, review claims."""
import copy
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest

from sim.case import load_case
from sim.materials import load_material, material_names, material_record
from sim.pnp import analytic as an
from sim.pnp import observables as obs
from sim.pnp.reference_problems import one_sided_frenkel
from sim.pnp.carriers import bulk_conductivity, frenkel_pair
from sim.kinds.pnp.build import build_layers
from sim.pnp.newton import solve_equilibrium
from sim.kinds.pnp.runner import solve
from sim.units import AVOGADRO, ELEMENTARY_CHARGE, FARADAY

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SWIFT_QI = os.path.join(ROOT, "cases", "verification", "swift_qi_llzo.toml")
N_LLZO = 3.27455e22 * 1e6 / AVOGADRO            # mol/m^3
E_LLZO, PHI0 = 0.0143907397384, 1.6216363422810787


def charge(p, c):
    return FARADAY * np.sum((np.sum(p.z[:, None] * c, axis=0) - p.c_bg) * p.mesh.widths)


def test_first_integral_reproduces_swift_qi_published_numbers():
    q = an.frenkel_charge(PHI0, N_LLZO, E_LLZO, 50.0, 0.1, 300.0)
    assert q / ELEMENTARY_CHARGE / 1e18 == pytest.approx(5.3271, abs=5e-5)         # e/nm^2
    assert q / PHI0 * 100 == pytest.approx(52.6322, abs=5e-4)                       # uF/cm^2
    assert an.frenkel_saturated_width(PHI0, N_LLZO, E_LLZO, 50.0, 0.1, 300.0) * 1e10 == pytest.approx(16.2683, abs=1e-3)


def test_swift_qi_case_from_the_command_line(tmp_path):
    out = tmp_path / "sq.h5"
    r = subprocess.run([sys.executable, "-m", "sim", "run", SWIFT_QI, "-o", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    with h5py.File(out) as f:
        s = f["pnp/observables/surface"]
        exact = an.frenkel_charge(PHI0, N_LLZO, E_LLZO, 50.0, 0.1, 300.0)
        assert s["electrode_charge"].attrs["units"] == "C/m^2"
        assert s["electrode_charge"][()] == pytest.approx(-exact, rel=1e-4)
        assert s["integral_capacitance"][()] == pytest.approx(exact / PHI0, rel=1e-4)
        assert s["integral_capacitance"].attrs["units"] == "F/m^2"
        assert s["saturated_width"][()] == pytest.approx(16.27e-10, rel=0.10)


@pytest.mark.parametrize("phi0", [0.05, 0.3, 1.0, 1.6216363422810787, 2.5])
@pytest.mark.parametrize("E_f0", [0.0, 0.0143907397384, 0.3, 1.0])
def test_frenkel_first_integral_over_potential_and_formation_energy(phi0, E_f0):
    """Same mesh rules everywhere: bulk screening lengths from 0.03 nm to 1.5 mm."""
    p = one_sided_frenkel(phi0, N_LLZO, E_f0, 50.0, 0.1, 300.0)
    psi, c, st = solve_equilibrium(p)
    assert abs(charge(p, c)) == pytest.approx(an.frenkel_charge(phi0, N_LLZO, E_f0, 50.0, 0.1, 300.0), rel=1e-4)
    # c rounds to c_max in saturated cells; the logit keeps 1 - theta = 1 / (1 + e^w) resolved
    assert np.all(np.isfinite(st.w)) and np.all(c > 0) and st.final_residual < 1e-8


def test_dilute_frenkel_lif_of_swift_qi():
    N = 5.98412e22 * 1e6 / AVOGADRO
    p = one_sided_frenkel(1.9160630915364418, N, 0.9733510180664657, 9.0, 0.1, 300.0)
    assert p.mesh.faces[-1] > 1e-2                      # bulk screening length 1.5 mm
    psi, c, _ = solve_equilibrium(p)
    q = abs(charge(p, c))
    assert q / ELEMENTARY_CHARGE / 1e18 == pytest.approx(2.4425, abs=5e-4)        # published e/nm^2



def test_frenkel_bulk_is_neutral_and_in_frenkel_equilibrium():
    sp = frenkel_pair(3.1e4, 0.1, 0.05, -0.2, 298.15, 1e-12, 1e-12)
    i, v = sp["Li_i"], sp["V_Li"]
    assert i["c_bulk"] == pytest.approx(v["c_bulk"])
    kT = 298.15 * 8.617333262e-5
    logit = np.log(i["c_bulk"] / (i["c_max"] - i["c_bulk"]))
    assert (i["mu0_eV"] + kT * logit) + (v["mu0_eV"] + kT * logit) == pytest.approx(0.0, abs=1e-12)
    assert i["mu0_eV"] + kT * logit == pytest.approx(-0.2, abs=1e-12)          # eta(Li_i) = Li+ level


@pytest.mark.parametrize("name", ["LPS", "LNO", "LLZO"])
def test_model_bulk_conductivity_equals_the_materials_file(name):
    params = copy.deepcopy(load_case(os.path.join(ROOT, "cases", "lco_lno_lps.toml")).params)
    params["layers"]["sse"]["material"] = name
    layer = {L["name"]: L for L in build_layers(params)[2]}["sse"]
    sigma = bulk_conductivity(layer["species"], params["temperature_K"])
    assert sigma == pytest.approx(load_material(name)["conductivity"], rel=0.01)


def test_every_shipped_material_with_carriers_has_sourced_frenkel_data():
    for name in material_names():
        rec = material_record(name)
        if rec.get("carriers") == "frenkel":
            for prop in ("defect_site_density", "saturation_alpha", "frenkel_energy"):
                assert rec[prop]["source"], (name, prop)
            assert "li_diffusivity" not in rec or "conductivity" not in rec, name


def test_diffusivity_contradicting_conductivity_is_an_error_naming_the_material():
    from sim.errors import CaseError
    params = copy.deepcopy(load_case(os.path.join(ROOT, "cases", "lco_lps.toml")).params)
    params["layers"]["sse"]["frenkel"] = {"D_interstitial_m2_s": 1e-13, "D_vacancy_m2_s": 1e-13,
                                          "conductivity_S_m": 0.016}
    with pytest.raises(CaseError, match="LPS"):
        build_layers(params)


def _sse(params, U):
    p, psi, c, st = solve(params, U)
    ev = obs.evaluate(p, psi, c, w=st.w)
    return ev["interfaces"][-1]["right"], ev


def test_what_the_defect_model_says_about_the_review_claims():
    """Under the default mobility laws (interstitials size-excluded, vacancies moved by Li hops): the LNO
    buffer weakens the sulfide's Li depletion at every cathode potential and the space charge widens on
    charge, but the sulfide-side excess resistance stays tiny (|Delta R| < 1e-3 ohm cm^2; it is slightly
    negative: accumulated vacancies conduct).  The claims as probabilities over the uncertain inputs are
    the uncertainty case's (docs/validation.md)."""
    bare = load_case(os.path.join(ROOT, "cases", "lco_lps.toml")).params
    lno = load_case(os.path.join(ROOT, "cases", "lco_lno_lps.toml")).params
    r = {(n, U): _sse(prm, U) for n, prm in (("bare", bare), ("lno", lno)) for U in (3.9, 4.2, 4.4)}
    assert r["bare", 3.9][0]["thickness_1pct"] < r["bare", 4.4][0]["thickness_1pct"]
    for U in (3.9, 4.2, 4.4):
        assert r["lno", U][0]["potential_drop"] < r["bare", U][0]["potential_drop"]     # less depletion
        for n in ("bare", "lno"):
            assert abs(r[n, U][0]["excess_resistance"]) * 1e4 < 1e-3


def _with_vacancy_law(params, law):
    prm = copy.deepcopy(params)
    prm["layers"]["sse"]["species"] = {"V_Li": {"mobility": law}}
    return prm


def test_the_vacancy_mobility_law_changes_the_excess_resistance_and_nothing_else():
    """Size exclusion on the vacancies (their sublattice nearly full next to the contact) makes the sulfide's
    excess resistance positive and growing on charge: the old conclusion rested on that factor alone."""
    base = load_case(os.path.join(ROOT, "cases", "lco_lps.toml")).params
    blocked = _with_vacancy_law(base, "size_exclusion")
    for U in (3.9, 4.4):
        p0, psi0, c0, st0 = solve(base, U)
        p1, psi1, c1, st1 = solve(blocked, U)
        assert np.max(np.abs(psi1 - psi0)) <= 1e-9 * np.ptp(psi0)
        assert np.max(np.abs(c1 - c0) / np.max(c0, axis=1, keepdims=True)) <= 1e-9
        sse = p0.mesh.layer_of_cell == 1
        assert np.allclose(obs.bulk_conductivity(p0)[sse], obs.bulk_conductivity(p1)[sse], rtol=1e-12)
    r = {U: _sse(blocked, U)[0]["excess_resistance"] for U in (3.9, 4.4)}
    assert 0 < r[3.9] < r[4.4]
    assert _sse(base, 4.4)[0]["excess_resistance"] < 0 < r[4.4]


def test_cathode_potential_split():
    """Lattice gas: the Li+ level moves by kT ln(x/(1-x)) ratio; ionic_fraction = 1 moves it by all of -e dU."""
    params = copy.deepcopy(load_case(os.path.join(ROOT, "cases", "lco_lps.toml")).params)

    def li_level(prm, U):
        layers = build_layers(prm, potential_V=U)[2]
        sp = layers[0]["species"]["Li_i"]
        return sp["mu0_eV"]
    lattice = li_level(params, 4.2) - li_level(params, 3.9)
    x42, x39 = 0.5, 0.9                               # OCV table: 4.20 V at x = 0.5, 3.90 V at x = 0.9
    kT = 298.15 * 8.617333262e-5
    assert lattice == pytest.approx(kT * (np.log(x42 / (1 - x42)) - np.log(x39 / (1 - x39))), rel=1e-9)
    params["cathode"]["ionic_fraction"] = 1.0
    assert li_level(params, 4.2) - li_level(params, 3.9) == pytest.approx(-0.3, rel=1e-9)



def test_predictor_and_continuation_reach_the_same_discrete_equilibrium():
    from sim.pnp.newton import SolverOptions
    p = one_sided_frenkel(0.5, N_LLZO, 0.3, 50.0, 0.1, 300.0)
    a = solve_equilibrium(p)
    b = solve_equilibrium(p, SolverOptions(predictor=False))
    assert a[2].newton_iterations <= 2 < b[2].newton_iterations
    assert np.max(np.abs(a[0] - b[0])) <= 1e-10 * np.max(np.abs(a[0]))


@pytest.mark.parametrize("name", ["li_llzo.toml", "li_lps.toml"])
def test_anode_cases_match_the_first_integral_along_their_sweep(name, tmp_path):
    from sim.run import run_case
    from sim.io import read_result
    r = read_result(run_case(os.path.join(ROOT, "cases", name), tmp_path / "o.h5"))
    q = np.abs(r.value("pnp/sweep/observables/surface/scl_charge"))
    assert np.max(np.abs(q / r.value("pnp/sweep/first_integral_charge") - 1)) < 1e-4


def test_every_material_source_has_a_cited_key_listed_in_the_docs():
    from sim.materials import material_sources, source_citations, source_key
    keys = set(source_citations())
    for row in material_sources():
        assert source_key(row[6]) in keys, row
    doc = open(os.path.join(ROOT, "docs", "materials.md")).read()
    for key, citation in source_citations().items():
        assert f"| {key} | {citation} |" in doc, key

