"""The Python API: build from a file, TOML text or dict; validated changes; in-memory results with
units; the same HDF5 as the command line; the tutorial runs."""
import runpy
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

import sim
from sim.errors import CaseError

ROOT = Path(__file__).resolve().parent.parent
QUICK = {"mesh.h_min_m": 5e-12, "mesh.h_max_m": 2e-9, "mesh.growth": 1.2}


def test_an_invalid_change_raises_the_case_file_error_and_changes_nothing(tmp_path):
    """A -5 um separator: through the API the same CaseError (key and reason) as in the file, and the
    simulation keeps its valid value (no -15 mV polarization 'within budget')."""
    from sim.case import load_case
    path = ROOT / "cases" / "separator_budget.toml"
    s = sim.Simulation.from_file(path)
    before = s.get("layers.separator.thickness_um")
    with pytest.raises(CaseError) as api_err:
        s.set("layers.separator.thickness_um", -5.0)
    text = path.read_text()
    lines = text.splitlines()
    start = lines.index("[layers.separator]")
    k = next(i for i in range(start, len(lines)) if lines[i].startswith("thickness_um"))
    lines[k] = "thickness_um = -5.0"
    (tmp_path / "c.toml").write_text("\n".join(lines) + "\n")
    with pytest.raises(CaseError) as file_err:
        load_case(tmp_path / "c.toml")
    assert (api_err.value.key, api_err.value.reason) == (file_err.value.key, file_err.value.reason)
    assert s.get("layers.separator.thickness_um") == before


def test_dict_toml_and_file_give_the_same_result_as_sim_run(tmp_path):
    from sim.run import run_case
    from sim.case import load_case
    path = ROOT / "cases" / "lco_lps.toml"
    s = sim.Simulation.from_toml(path.read_text())
    for k, v in QUICK.items():
        s.set(k, v)
    s.set("sweep.points", 2)
    r = s.solve()
    assert r.units("pnp/phi") == "V" and "pnp/observables/contact_potential" in r.keys("pnp/observables")
    saved = r.save(tmp_path / "api.h5")
    cli = run_case(load_case(path, list(QUICK.items()) + [("sweep.points", 2)]), tmp_path / "cli.h5")
    with h5py.File(saved) as a, h5py.File(cli) as b:
        assert np.array_equal(a["pnp/phi"][()], b["pnp/phi"][()])
        assert a["pnp/phi"].attrs["units"] == "V"


def test_tutorial_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(sys, "argv", ["tutorial.py", str(tmp_path)])
    runpy.run_path(str(ROOT / "docs" / "tutorial.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "refused:" in out and "R_SCL on the LPS side" in out
    assert (tmp_path / "tutorial.h5").exists() and (tmp_path / "pnp_profiles.png").exists()
