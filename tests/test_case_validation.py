"""Case files: every kind of bad input gives one CaseError naming file, key, value and reason."""
import numpy as np
import pytest

from sim.case import load_case, validate_document
from sim.errors import CaseError

from _shared import PNP_LAYERS

GOOD_POL = """
kind = "polarization"
[current]
current_density_mA_cm2 = 3.0
[budget]
max_polarization_V = 0.05
[layers.separator]
thickness_um = 20.0
conductivity_S_cm = 1e-4
"""


def write(tmp_path, text, name="case.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def expect(tmp_path, text, key, reason_part):
    p = write(tmp_path, text)
    with pytest.raises(CaseError) as e:
        load_case(p)
    msg = str(e.value)
    assert str(p) in msg, msg
    assert e.value.key == key, msg
    assert reason_part in msg, msg
    return e.value


def test_good_case_resolves_defaults(tmp_path):
    case = load_case(write(tmp_path, GOOD_POL))
    assert case.params["budget"]["separator"] == "separator"
    assert case.params["budget"]["curve_max_thickness_um"] == 100.0


def test_unknown_key_suggests(tmp_path):
    e = expect(tmp_path, GOOD_POL.replace("max_polarization_V", "max_polarisation_V"),
               "budget.max_polarisation_V", "did you mean 'max_polarization_V'")
    assert e.value == 0.05


def test_wrong_type(tmp_path):
    expect(tmp_path, GOOD_POL.replace("thickness_um = 20.0", 'thickness_um = "twenty"'),
           "layers.separator.thickness_um", "expected a number")


def test_missing_required(tmp_path):
    expect(tmp_path, GOOD_POL.replace("max_polarization_V = 0.05", ""), "budget.max_polarization_V", "required")


def test_negative_thickness(tmp_path):
    expect(tmp_path, GOOD_POL.replace("thickness_um = 20.0", "thickness_um = -1.0"),
           "layers.separator.thickness_um", ">= 0")


def test_nan_and_inf_rejected(tmp_path):
    expect(tmp_path, GOOD_POL.replace("thickness_um = 20.0", "thickness_um = nan"),
           "layers.separator.thickness_um", "finite")
    expect(tmp_path, GOOD_POL.replace("conductivity_S_cm = 1e-4", "conductivity_S_cm = inf"),
           "layers.separator.conductivity_S_cm", "finite")


def test_zero_density_override(tmp_path):
    text = 'kind = "energy_density"\n[materials.LLZO]\ndensity_g_cm3 = 0.0\n'
    expect(tmp_path, text, "materials.LLZO.density_g_cm3", "> 0")


def test_unknown_material_and_kind(tmp_path):
    expect(tmp_path, 'kind = "energy_density"\n[materials.LLZ0]\ndensity_g_cm3 = 5.0\n', "materials.LLZ0", "did you mean 'LLZO'")
    expect(tmp_path, 'kind = "energy_densty"\n', "kind", "did you mean 'energy_density'")


def test_syntax_error_and_non_utf8(tmp_path):
    expect(tmp_path, "kind = \n", "<syntax>", "not valid TOML")
    p = tmp_path / "bad.toml"
    p.write_bytes(b'kind = "\xff\xfe"\n')
    with pytest.raises(CaseError, match="UTF-8"):
        load_case(p)


def test_exclusive_choices(tmp_path):
    expect(tmp_path, GOOD_POL.replace("current_density_mA_cm2 = 3.0", "c_rate_per_h = 1.0"),
           "current.areal_capacity_mAh_cm2", "required with c_rate_per_h")
    expect(tmp_path, GOOD_POL.replace("[budget]", '[budget]\nseparator = "sep"'),
           "budget.separator", "not a layer name")


def test_mass_fraction_check_on_presets():
    # the presets themselves must be consistent; a corrupted preset is caught by the semantic check
    from sim.stack import energy as en
    pr = en.presets()
    saved = dict(pr["LIB"]["cathode_mass_fractions"])
    try:
        pr["LIB"]["cathode_mass_fractions"]["NCA"] = 0.9
        with pytest.raises(CaseError, match="sum to 1"):
            validate_document({"kind": "energy_density"}, "x.toml")
        pr["LIB"]["cathode_mass_fractions"].update(saved)
        pr["LIB"]["cathode_porosity"] = 1.0
        with pytest.raises(CaseError, match=r"\[0, 1\)"):
            validate_document({"kind": "energy_density"}, "x.toml")
    finally:
        pr["LIB"]["cathode_mass_fractions"].update(saved)
        pr["LIB"]["cathode_porosity"] = 0.40


def test_shipped_cases_validate():
    from pathlib import Path
    for p in sorted(Path(__file__).parents[1].joinpath("cases").glob("*.toml")):
        load_case(p)


PNP = '\nkind = "pnp"' + PNP_LAYERS


def test_pnp_bad_values(tmp_path):
    single = PNP.replace('material = "LPS"', 'material = "LPS"\ncarriers = "single"')
    expect(tmp_path, single + "[layers.sse.species.Li]\nc_bulk_mol_m3 = 4e4\n", "layers.sse.species.Li.c_bulk_mol_m3", "below c_max")
    expect(tmp_path, PNP.replace("thickness_m = 20e-9\n[layers.sse]", "thickness_m = 0.0\n[layers.sse]"),
           "layers.cathode.thickness_m", "> 0")
    expect(tmp_path, PNP + "[mesh]\nh_max_m = 1e-15\nh_min_m = 1e-15\n", "layers.cathode.thickness_m", "cells")
    expect(tmp_path, PNP.replace('material = "LPS"', 'material = "LSP"'), "layers.sse.material", "did you mean 'LPS'")
    expect(tmp_path, PNP + '[cathode]\nlayer = "cathod"\n', "cathode.layer", "did you mean 'cathode'")
    expect(tmp_path, PNP + "[layers.sse.species.Na]\nc_max_mol_m3 = 1e3\n", "species.Na.z", "charge number")


def test_pnp_per_layer_mesh_controls(tmp_path):
    from sim.kinds.pnp.build import build_problem
    coarse = load_case(write(tmp_path, PNP)).params
    fine = load_case(write(tmp_path, PNP.replace('material = "LPS"', 'material = "LPS"\nh_min_m = 5e-13', 1), "f.toml")).params
    a, b = build_problem(coarse).mesh, build_problem(fine).mesh
    sse = lambda m: m.widths[m.layer_of_cell == 1]
    assert sse(b).min() < 0.3 * sse(a).min()
    assert np.array_equal(a.widths[a.layer_of_cell == 0], b.widths[b.layer_of_cell == 0])


def test_energy_overrides_porosity_and_mass_fractions(tmp_path):
    expect(tmp_path, 'kind = "energy_density"\n[cell]\ncathode_porosity = 1.0\n', "cell.cathode_porosity", "< 1")
    expect(tmp_path, 'kind = "energy_density"\n[cell]\ncathode_mass_fractions = {NCA = 0.8, CB = 0.1}\n',
           "cell.cathode_mass_fractions", "sum to 1")
    expect(tmp_path, 'kind = "energy_density"\n[cell]\ncathode_mass_fractions = {NCA = 0.8, CBB = 0.2}\n',
           "cell.cathode_mass_fractions.CBB", "did you mean 'CB'")
    # a valid override changes the result as the formula says: more porosity -> thicker cathode, less E_V
    from sim.run import compute
    base = load_case(write(tmp_path, 'kind = "energy_density"\n[fig3]\nenabled = false\n', "a.toml"))
    porous = load_case(write(tmp_path, 'kind = "energy_density"\n[fig3]\nenabled = false\n[cell]\ncathode_porosity = 0.3\n', "b.toml"))
    a, b = compute(base), compute(porous)
    assert b["energy/cell/energy_density"].value < a["energy/cell/energy_density"].value
    assert b["energy/cell/specific_energy"].value == pytest.approx(a["energy/cell/specific_energy"].value)


def test_huge_grid_sweep_refused(tmp_path):
    from sim.studies import load_sweep
    (tmp_path / "base.toml").write_text('kind = "energy_density"\n')
    s = tmp_path / "s.toml"
    s.write_text('base = "base.toml"\n' + "".join(
        f'[parameters."cell.loading_mg_cm2{i}"]\nrange = [1.0, 2.0]\npoints = 1000\n' for i in range(3)))
    with pytest.raises(CaseError, match="more than 1000000 cases"):
        load_sweep(s)


def test_a_nul_character_in_any_string_is_one_clear_error(tmp_path):
    """TOML's "\\u0000" would reach os.stat (ValueError: embedded null byte) as a file name."""
    from sim.case import load_case
    from sim.errors import CaseError
    case = tmp_path / "c.toml"
    case.write_text('kind = "polarization"\ntitle = "a\\u0000b"\n')
    with pytest.raises(CaseError, match="'title'.*holds a NUL character"):
        load_case(case)


def test_a_measured_spectrum_of_a_pnp_case_is_checked_by_validate(tmp_path):
    """`impedance.measured_csv` is read and checked when the case is loaded (`sim validate`), and the error
    names the case file, the key, the data file and its line."""
    from pathlib import Path
    from sim.case import load_case
    from sim.errors import CaseError
    root = Path(__file__).resolve().parent.parent
    text = (root / "cases" / "lco_lps_impedance.toml").read_text().replace(
        "points_per_decade = 6", 'points_per_decade = 6\nmeasured_csv = "m.csv"')
    (tmp_path / "c.toml").write_text(text)
    (tmp_path / "m.csv").write_text("1,1,-1\n2,1,-1\n3,1,-1\n2.5,1,-1\n5,1,-1\n6,1,-1\n")
    with pytest.raises(CaseError) as e:
        load_case(tmp_path / "c.toml")
    msg = str(e.value)
    assert "c.toml" in msg and "impedance.measured_csv" in msg and "m.csv: line 4" in msg and "convention" not in msg


def test_a_quoted_dotted_key_is_one_table_in_set_overrides():
    """--set 'parameters."layers.slab.eps_r".low=5' reaches the fit parameter named by the quoted key."""
    from sim.case import apply_overrides, key_parts
    assert key_parts('parameters."layers.slab.eps_r".low') == ["parameters", "layers.slab.eps_r", "low"]
    assert key_parts("layers.sse.eps_r") == ["layers", "sse", "eps_r"]
    doc = apply_overrides({"parameters": {"layers.slab.eps_r": {"low": 3.0}}}, [('parameters."layers.slab.eps_r".low', 5.0)])
    assert doc == {"parameters": {"layers.slab.eps_r": {"low": 5.0}}}
