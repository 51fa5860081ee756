"""The materials database: every value cited or a MODEL value with a range and reason; ranges checked on
load and exposed in SI; `sim materials` and docs/materials.md show what the file holds."""
import copy
import math
import os

import pytest

from sim import materials as M
from sim.materials import MaterialsFileError, check_materials, material_ranges, material_sources, source_citations
from sim.units import SI

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _doc():
    return copy.deepcopy(M._raw())


def _numeric_rows():
    return [r for r in material_sources() if r.value != "table"]


def test_every_numeric_property_is_cited_or_a_model_value_with_range_and_reason():
    cites = set(source_citations()) - set(M.NON_CITATIONS)
    for r in _numeric_rows():
        key = M.source_key(r.source)
        assert key in cites or key in M.NON_CITATIONS, r
        if key in M.NON_CITATIONS:
            assert len(M.source_reason(r.source)) > 10, r
        if key == M.MODEL:
            assert r.range is not None, r


def test_no_source_is_the_old_unspecific_literature_key():
    assert "LIT" not in source_citations()
    assert not [r for r in material_sources() if M.source_key(r.source) == "LIT"]


def test_every_source_key_is_used_by_some_property():
    used = {k for r in material_sources() for k in M.cited_keys(f"{r.source} {r.note}")}
    assert set(source_citations()) == used


def test_every_value_lies_in_its_range_in_si_too():
    for name in M.material_names():
        si = M.load_material(name)
        for prop, rng in material_ranges(name).items():
            assert rng.low < rng.high and si[prop] in rng, (name, prop)


def test_ranges_are_in_si_with_their_scale():
    lno = material_ranges("LNO")["conductivity"]
    assert (lno.low, lno.high) == pytest.approx((8e-8 * SI["S/cm"], 5e-6 * SI["S/cm"]), rel=1e-12)
    assert lno.unit == "S/m" and lno.scale == "log"                     # default: 62x > a decade
    lpsN = material_ranges("LPS")["defect_site_density"]
    assert lpsN.unit == "mol/m^3" and lpsN.scale == "linear"
    assert material_ranges("LCO")["mu0_li"].unit == "eV"
    assert material_ranges("LATP")["conductivity"].scale == "log"       # given: exactly a decade
    assert "defect_site_density" not in material_ranges("LLZO")          # cited, no range given


def test_default_scale():
    assert M.default_scale(1e-4, 4e-4) == "linear"
    assert M.default_scale(1e-4, 1.1e-3) == "log"
    assert M.default_scale(-0.6, -0.1) == "linear"
    assert M.default_scale(0.0, 0.5) == "linear"


# ------------------------------------------------------------- the checks, one bad file at a time
def _broken(edit):
    doc = _doc()
    edit(doc)
    return doc


BAD = {
    "value outside range": (lambda d: d["LPS"]["conductivity"].update(value=5e-4),
                            "LPS.conductivity.range", "does not contain the value"),
    "low >= high": (lambda d: d["LNO"]["conductivity"].update(range=[5e-6, 8e-8]),
                    "LNO.conductivity.range", "low < high"),
    "model without range": (lambda d: d["LCO"]["frenkel_energy"].pop("range"),
                            "LCO.frenkel_energy.range", "MODEL value needs range"),
    "negative where positive": (lambda d: d["LCO"]["li_diffusivity"].update(value=-2e-10, range=[-1e-9, 1e-9]),
                                "LCO.li_diffusivity.value", "must be > 0"),
    "non-positive range of a positive unit": (lambda d: d["LCO"]["li_diffusivity"].update(range=[0.0, 1e-8]),
                                              "LCO.li_diffusivity.range", "must be > 0"),
    "log scale over zero": (lambda d: d["LNO"]["mu0_li"].update(scale="log"),
                            "LNO.mu0_li.scale", "log scale needs low > 0"),
    "unknown scale": (lambda d: d["LNO"]["conductivity"].update(scale="logarithmic"),
                      "LNO.conductivity.scale", "must be one of log, linear"),
    "unknown source key": (lambda d: d["LLZO"]["eps_r"].update(source="LIT (50-60)"),
                           "LLZO.eps_r.source", "'LIT' is not in sim/data/sources.toml"),
    "model without reason": (lambda d: d["LLZO"]["mu0_li"].update(source="MODEL"),
                             "LLZO.mu0_li.source", "write the reason"),
    "missing source": (lambda d: d["NCA"]["density"].pop("source"), "NCA.density.source", "needs a source"),
    "range not a pair": (lambda d: d["LPS"]["eps_r"].update(range=[7.0]), "LPS.eps_r.range", "two finite numbers"),
    "unknown field": (lambda d: d["LPS"]["eps_r"].update(uncertainty="8-10"), "LPS.eps_r.uncertainty",
                      "unknown field"),
    "unknown unit": (lambda d: d["LPS"]["eps_r"].update(unit="F/m"), "LPS.eps_r.unit", "unknown unit"),
    "value not a number": (lambda d: d["LPS"]["eps_r"].update(value="9"), "LPS.eps_r.value", "finite number"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_broken_file_gives_one_line_naming_file_material_property_and_problem(case):
    edit, where, reason = BAD[case]
    with pytest.raises(MaterialsFileError) as err:
        check_materials(_broken(edit), source_citations(), "sim/data/materials.toml")
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith("sim/data/materials.toml: ") and f"'{where}'" in msg and reason in msg, msg


def test_the_shipped_file_passes_its_checks():
    check_materials(_doc(), source_citations())


def test_a_nan_value_is_refused():
    doc = _broken(lambda d: d["LPS"]["eps_r"].update(value=math.nan))
    with pytest.raises(MaterialsFileError, match="finite number"):
        check_materials(doc, source_citations())


# ------------------------------------------------------------------------------- what users see
def test_sim_materials_shows_value_range_and_citation(capsys):
    from sim.cli import main
    assert main(["materials", "--name", "LNO"]) == 0
    out = capsys.readouterr().out
    assert "conductivity" in out and "range [8e-08, 5e-06] log" in out
    assert "OzerLampert1995" in out and source_citations()["OzerLampert1995"] in out
    assert "LiChenHu1996" in out                       # named in the source text or note: listed too


def test_docs_materials_block_is_generated_from_the_file():
    from sim.docs_materials import generated_block, render
    doc = open(os.path.join(ROOT, "docs", "materials.md"), encoding="utf-8").read()
    assert generated_block(doc) == render(), "regenerate: python -m sim.docs_materials docs/materials.md"


def test_docs_state_the_definition_of_n_and_every_parameter():
    doc = open(os.path.join(ROOT, "docs", "materials.md"), encoding="utf-8").read()
    assert "number density of crystallographic Li sites" in doc
    props = {r.prop for r in material_sources()}
    described = doc.split("## What each parameter means")[1].split("## Carrier models")[0]
    missing = [p for p in props if f"`{p}`" not in described]
    assert not missing, f"docs/materials.md does not define {missing}"
