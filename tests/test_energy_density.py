"""Energy density and break-even thickness: hand calculations and the review's numbers."""
import numpy as np
import pytest

from sim.stack import energy as en

UM, MG = 1e-6, 1e-2


def hand_lib():
    """Table 1 LIB by hand (per cm^2, mg and um), independent of the module's code path."""
    nca = 15.0
    cat_solid = nca / 0.95
    cat_vol_um = (nca / 4.7 + cat_solid * 0.02 / 2.2 + cat_solid * 0.03 / 1.8) * 10.0   # mg/cm2 / (g/cm3) -> 10 um
    t_cat = cat_vol_um / 0.6
    cap = nca * 0.200                                  # mAh/cm2
    graphite = 1.2 * cap / 0.372                       # mg/cm2
    an_solid = graphite / 0.95
    t_an = (graphite / 2.2 + an_solid * 0.05 / 1.8) * 10.0 / 0.7
    sep_mass = 25 * 0.5 * 0.95 / 10.0
    liquid = (t_cat * 0.4 + t_an * 0.3 + 25 * 0.5) * 1.1 / 10.0
    al, cu = 10 * 2.70 / 10.0, 5 * 8.96 / 10.0
    mass = cat_solid + an_solid + sep_mass + liquid + al + cu
    thick = t_cat + t_an + 25 + 10 + 5
    e_mwh = cap * 3.6
    return e_mwh / mass * 1e3, e_mwh / thick * 1e4, t_cat   # Wh/kg, Wh/L, um


def test_lib_matches_hand_calculation_and_review():
    es_hand, ev_hand, t_cat = hand_lib()
    es, ev = en.energy(en.preset_design("LIB"))
    assert es == pytest.approx(es_hand, rel=1e-12)
    assert ev == pytest.approx(ev_hand, rel=1e-12)
    assert t_cat == pytest.approx(60.0, abs=0.5)       # "a cathode about 60 um thick"
    assert abs(es / 264.0 - 1) < 0.02                  # review: ~264 Wh/kg
    assert abs(ev / 640.0 - 1) < 0.02                  # review: ~640 Wh/L


def test_asslib_bet_llzo_review_value_and_closed_form():
    lib = en.preset_design("LIB")
    es_ref, ev_ref = (float(x) for x in en.energy(lib))
    d = en.preset_design("ASSLIB")
    bet = float(en.break_even_thickness(d, es_ref)) / UM
    assert abs(bet / 41.0 - 1) < 0.05                  # review: ~41 um
    # closed form: E_A / E_ref = M(0) + rho_sep L
    b0 = en.breakdown(d, separator_thickness_m=0.0)
    L = (b0["areal_energy"] / (es_ref * 3600.0) - b0["total_mass"]) / 5000.0
    assert bet == pytest.approx(L / UM, rel=1e-9)
    Lv = b0["areal_energy"] / (ev_ref * 3.6e6) - b0["total_thickness"]
    assert float(en.break_even_thickness(d, ev_ref, "volumetric")) == pytest.approx(Lv, rel=1e-9)
    # the cathode of the ASSLIB is ~60 um at 19.5 mg/cm2
    assert float(b0["thickness"]["cathode"]) / UM == pytest.approx(60.0, abs=1.0)


def test_non_garnet_sse_keeps_cathode_volume_and_thickness():
    base = en.breakdown(en.preset_design("ASSLIB"))
    for sse, rho in (("LATP", 3.0), ("LGPS", 2.0)):
        b = en.breakdown(en.preset_design("ASSLIB", sse=sse))
        assert float(b["thickness"]["cathode"]) == pytest.approx(float(base["thickness"]["cathode"]), rel=1e-12)
        assert float(b["mass"]["cathode/NCA"]) == pytest.approx(19.5 * MG, rel=1e-12)
        v_llzo = float(base["mass"]["cathode/LLZO"]) / 5000.0
        assert float(b["mass"][f"cathode/{sse}"]) == pytest.approx(v_llzo * rho * 1000.0, rel=1e-12)


def test_specific_energy_falls_with_separator_and_bet_rises_with_loading():
    d = en.preset_design("ASSLIB")
    L = np.linspace(0, 200e-6, 50)
    es, ev = en.energy(d, separator_thickness_m=L)
    assert np.all(np.diff(es) < 0) and np.all(np.diff(ev) < 0)
    loads = np.linspace(8, 50, 30) * MG     # below ~5 mg/cm2 no thickness reaches 264 Wh/kg
    bet = en.break_even_thickness(d, 264.0, loading_kg_m2=loads)
    assert np.all(np.isfinite(bet)) and np.all(np.diff(bet) > 0)


def test_bet_none_when_unreachable():
    d = en.preset_design("ASSLIB")
    assert np.isnan(en.break_even_thickness(d, 1e4))   # 10 kWh/kg: impossible at any thickness
    low = en.break_even_thickness(d, 264.0, loading_kg_m2=np.array([0.5, 20.0]) * MG)
    assert np.isnan(low[0]) and np.isfinite(low[1])


def test_collectors_and_anode_excess():
    std = en.preset_design("ASSLIB", collectors="standard")
    mod = en.preset_design("ASSLIB", collectors="modified")
    bs, bm = en.breakdown(std), en.breakdown(mod)
    assert float(bs["total_mass"] - bm["total_mass"]) == pytest.approx(5e-6 * 2700 + 5e-6 * 8960, rel=1e-12)
    assert float(bs["total_thickness"] - bm["total_thickness"]) == pytest.approx(10e-6, rel=1e-12)
    li = float(bs["mass"]["anode/Li_metal"])
    cap = 19.5 * MG * 200 * 3600.0                     # C/m2
    assert li == pytest.approx(1.2 * cap / (3860 * 3600.0), rel=1e-12)


def test_vectorized_million_designs_fast_enough_to_be_a_sweep():
    d = en.preset_design("ASSLIB")
    rng = np.random.default_rng(0)
    loads = rng.uniform(1, 50, 10**6) * MG
    L = rng.uniform(0, 200e-6, 10**6)
    es, ev = en.energy(d, loads, L)
    assert es.shape == (10**6,) and np.all(np.isfinite(es))
    # spot-check against the scalar path
    i = 12345
    assert es[i] == pytest.approx(float(en.energy(d, loads[i], L[i])[0]), rel=1e-12)
