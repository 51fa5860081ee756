"""Command-line rough edges: one clear line for every user mistake, overrides, provenance that
reproduces a run, plausibility warnings, materials defined in a case."""
import json
import os
from pathlib import Path

import h5py
import numpy as np
import pytest

from sim.cli import main

ROOT = Path(__file__).resolve().parent.parent
FAST = ["--set", "mesh.h_min_m=5e-12", "--set", "mesh.h_max_m=2e-9", "--set", "mesh.growth=1.2"]


def _err(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    return err[0]


def test_figures_bad_format_and_missing_style(tmp_path, capsys):
    out = tmp_path / "o.h5"
    assert main(["run", str(ROOT / "cases" / "separator_budget.toml"), "-o", str(out)]) == 0
    capsys.readouterr()
    assert main(["figures", str(out), "--format", "jpgg"]) == 2
    assert "did you mean 'jpg'" in _err(capsys)
    assert main(["figures", str(out), "--style", str(tmp_path / "missing.mplstyle")]) == 2
    assert "no such style file" in _err(capsys)


def test_validation_script_help_creates_nothing(tmp_path, monkeypatch):
    from sim.verification.limits import cli
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as e:
        cli(["--help"])
    assert e.value.code == 0 and not list(tmp_path.iterdir())


def test_sweep_on_a_case_file_and_typos(tmp_path, capsys):
    assert main(["sweep", str(ROOT / "cases" / "lco_lps.toml")]) == 2
    assert "this is a case file" in _err(capsys)
    (tmp_path / "base.toml").write_text((ROOT / "cases" / "lco_lps.toml").read_text())
    (tmp_path / "s.toml").write_text('base = "base.toml"\n[design]\nkind = "grid"\n'
                                     '[parameters."layer.sse.thickness_m"]\nvalues = [8e-9, 9e-9]\n')
    assert main(["validate", str(tmp_path / "s.toml")]) == 2
    line = _err(capsys)
    assert "swept key path" in line and "did you mean 'layers'" in line
    assert main(["materials", "--name", "LPSS"]) == 2
    assert "did you mean 'LPS'" in _err(capsys)


def test_unknown_plot_column_is_an_error(tmp_path, capsys):
    text = (ROOT / "cases" / "lco_lps.toml").read_text().replace("[sweep]\npotential_V = [3.88, 4.4]\npoints = 14\n", "")
    (tmp_path / "base.toml").write_text(text)
    (tmp_path / "s.toml").write_text('base = "base.toml"\nplot = ["pnp.observables.total_excess_resistancer"]\n'
                                     '[design]\nkind = "grid"\n[parameters."materials.LPS.eps_r"]\nvalues = [8.0, 9.0]\n')
    assert main(["sweep", str(tmp_path / "s.toml"), "-o", str(tmp_path / "o.h5"), "--executor", "serial"] + FAST) == 2
    assert "did you mean 'pnp.observables.total_excess_resistance'" in _err(capsys)
    with h5py.File(tmp_path / "o.h5") as f:               # the results are kept, the columns an array of strings
        cols = list(f["summary"].attrs["columns"])
        assert all(isinstance(c, (str, bytes)) for c in cols) and len(cols) > 4


def test_set_overrides_from_result_and_plausibility(tmp_path, capsys):
    case = str(ROOT / "cases" / "lco_lps.toml")
    a = tmp_path / "a.h5"
    assert main(["run", case, "-o", str(a), "--set", "temperature_K=25", "--set", "sweep.points=2"] + FAST) == 0
    err = capsys.readouterr().err
    assert "temperature_K = 25 K" in err and "298.15" in err
    with h5py.File(a) as f:
        assert "298.15" in json.loads(f.attrs["warnings_json"])[0]
        assert ["temperature_K", 25] in json.loads(f.attrs["overrides_json"])
        assert {"LCO", "LPS"} <= set(json.loads(f.attrs["materials_json"]))
        assert not os.path.isabs(f.attrs["case_path"]) or not f.attrs["case_path"].startswith(os.getcwd())
        phi = f["pnp/phi"][()]
    b = tmp_path / "b.h5"
    assert main(["run", "--from", str(a), "-o", str(b)]) == 0
    with h5py.File(b) as f:
        assert np.array_equal(f["pnp/phi"][()], phi)
    capsys.readouterr()
    assert main(["run", case, "--set", "layers.sse.thicknes_m=1e-8"]) == 2
    assert "did you mean 'thickness_m'" in _err(capsys)
    assert main(["run", case, "--set", "temperature_K"]) == 2
    assert "key=value" in _err(capsys)


def test_a_material_defined_in_the_case(tmp_path):
    text = (ROOT / "cases" / "lco_lps.toml").read_text().replace('material = "LPS"', 'material = "LSO"')
    text = text.replace("[sweep]\npotential_V = [3.88, 4.4]\npoints = 14\n", "")
    text += ('\n[materials.LSO]\ncarriers = "frenkel"\neps_r = 10.0\ndefect_site_density_mol_m3 = 2.5e4\n'
             'saturation_alpha = 0.1\nfrenkel_energy_eV = 0.1\nconductivity_S_cm = 1e-3\nmu0_li_eV = 0.05\n')
    (tmp_path / "c.toml").write_text(text)
    assert main(["run", str(tmp_path / "c.toml"), "-o", str(tmp_path / "o.h5")] + FAST) == 0
    with h5py.File(tmp_path / "o.h5") as f:
        assert f["pnp/layer_bulk_conductivity"][1] == pytest.approx(0.1, rel=1e-12)     # 1e-3 S/cm
        assert json.loads(f.attrs["materials_json"])["LSO"]["carriers"] == "frenkel"


def test_case_format_example_of_a_layer_without_a_material_runs(tmp_path):
    from sim.case import load_case
    from sim.run import compute
    doc = (ROOT / "docs" / "case-format.md").read_text()
    block = doc[doc.index("    [layers.film]"):doc.index("**A one-sided double layer**")]
    layer = "\n".join(l[4:] for l in block.splitlines() if l.startswith("    "))
    (tmp_path / "c.toml").write_text('kind = "pnp"\n' + layer)
    case = load_case(tmp_path / "c.toml")
    out = compute(case)
    assert out["pnp/species"].value.tolist() == ["Li"]


def test_keys_without_effect_are_warned_and_degenerate_sweeps_refused(tmp_path, capsys):
    case = str(ROOT / "cases" / "lco_lps.toml")
    out = tmp_path / "o.h5"
    assert main(["run", case, "-o", str(out), "--set", "kinetics.alpha=0.3", "--set", "transient.duration_s=10.0",
                 "--set", "materials.LLZO.eps_r=40.0", "--set", "sweep.points=2"] + FAST) == 0
    notes = json.loads(h5py.File(out).attrs["warnings_json"])
    assert any("kinetics.alpha" in n for n in notes) and any("transient.duration_s" in n for n in notes)
    assert any("materials.LLZO" in n for n in notes)
    capsys.readouterr()
    assert main(["run", case, "--set", "sweep.potential_V=[4.0, 4.0]"]) == 2
    assert "start and stop must differ" in _err(capsys)
