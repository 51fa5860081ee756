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
    assert "<SimulationResult pnp" in out and "total excess resistance of the space-charge layers (ohm cm^2) against the cathode potential" in out
    assert "4.3 " in out.split("against the cathode potential")[1]         # the DataFrame's last row
    assert (tmp_path / "phi_along_the_sweep.png").exists()


def _quick_result(tmp_path):
    """lco_lps on the quick mesh with a 3-point potential sweep, written as `sim run` writes it."""
    from sim.run import run_case
    from sim.case import load_case
    return run_case(load_case(ROOT / "cases" / "lco_lps.toml", list(QUICK.items()) + [("sweep.points", 3)]),
                    tmp_path / "r.h5")


def test_open_a_result_views_and_repr(tmp_path):
    """sim.open: the object solve() returns, with xarray and pandas views and a short repr."""
    xr = pytest.importorskip("xarray")
    path = _quick_result(tmp_path)
    r = sim.open(path)
    assert isinstance(r, sim.SimulationResult)
    text = repr(r)
    assert text.startswith("<SimulationResult pnp of") and "ohm cm^2" in text and " V" in text
    assert len(text.splitlines()) <= 7 and "array(" not in text
    tree = r.to_xarray()
    assert isinstance(tree, xr.DataTree)
    ds = r.to_xarray("pnp")
    assert isinstance(ds, xr.Dataset) and ds["phi"].dims == ("x",) and ds["x"].attrs["units"] == "m"
    np.testing.assert_array_equal(ds["c_Li_i"].values, r.value("pnp/c/Li_i"))
    df = r.to_dataframe("pnp/sweep")
    assert df.index.name == "cathode_potential" and len(df) == 3
    assert df.attrs["units"]["observables/total_excess_resistance"] == "ohm cm^2"
    np.testing.assert_array_equal(df["observables/contact_potential"].values,
                                  r.value("pnp/sweep/observables/contact_potential"))
    profile = r.to_dataframe("pnp")
    assert profile.index.name == "x" and "phi" in profile and "c/Li_i" in profile
    scalars = r.to_dataframe()
    assert scalars.loc["pnp/observables/contact_potential", "units"] == "V"
    same = sim.Simulation.from_toml((ROOT / "cases" / "lco_lps.toml").read_text())
    for k, v in QUICK.items():
        same.set(k, v)
    solved = same.set("sweep.points", 3).solve()
    assert isinstance(solved.to_xarray("pnp/sweep"), xr.Dataset)                  # in memory, the same views
    np.testing.assert_array_equal(solved.to_xarray("pnp")["phi"].values, ds["phi"].values)


def test_keys_and_parameters_say_what_is_close(tmp_path):
    from sim.errors import UnknownKey
    r = sim.open(_quick_result(tmp_path))
    with pytest.raises(KeyError) as e:
        r.value("pnp/observables/total_asr")
    assert isinstance(e.value, UnknownKey) and "pnp/observables/total_excess_resistance" in str(e.value)
    assert str(e.value).startswith(str(r.path))                 # one line naming the file, no quotes around it
    s = sim.Simulation.from_file(ROOT / "cases" / "lco_lno_lps.toml")
    assert s.get("layers.buffer.thickness_m") > 0
    s2 = sim.Simulation.from_file(ROOT / "cases" / "lco_lps.toml")
    with pytest.raises(KeyError) as e:
        s2.get("layers.buffer.thickness_m")
    assert "layers.sse.thickness_m" in str(e.value) and "layers.cathode.thickness_m" in str(e.value)
    with pytest.raises(KeyError, match="did you mean"):
        r.to_xarray("pnp/sweeps")


def test_plot_takes_a_format_string(tmp_path):
    from sim.errors import SimError
    r = sim.Simulation.from_file(ROOT / "cases" / "separator_budget.toml").solve()
    paths = r.plot(tmp_path / "f", formats="pdf")
    assert paths and all(p.suffix == ".pdf" for p in paths)
    assert {p.suffix for p in r.plot(tmp_path / "g", formats="png, svg")} == {".png", ".svg"}
    with pytest.raises(SimError, match="did you mean 'pdf'"):
        r.plot(tmp_path / "h", formats="pfd")


def test_from_file_on_a_result_loads_its_case_and_a_sweep_is_one_line(tmp_path):
    from sim.errors import SimError
    from sim.run import run_case
    from sim.case import load_case
    out = run_case(load_case(ROOT / "cases" / "separator_budget.toml", [("current.current_density_mA_cm2", 1.5)]),
                   tmp_path / "b.h5")
    s = sim.Simulation.from_file(out)
    assert s.kind == "polarization" and s.get("current.current_density_mA_cm2") == 1.5    # with its --set
    assert s.solve().value("polarization/total") == sim.open(out).value("polarization/total")
    (tmp_path / "base.toml").write_text((ROOT / "cases" / "separator_budget.toml").read_text())
    (tmp_path / "s.toml").write_text('base = "base.toml"\n[parameters."layers.separator.thickness_um"]\n'
                                     'values = [5.0, 10.0]\n')
    from sim.studies import run_sweep
    run_sweep(tmp_path / "s.toml", tmp_path / "s.h5", executor="serial", progress=False)
    with pytest.raises(SimError, match=r"a sweep file.*sim\.open"):
        sim.Simulation.from_file(tmp_path / "s.h5")
    sweep = sim.open(tmp_path / "s.h5")
    assert "sweep" in repr(sweep) and "2 ok" in repr(sweep)
    assert list(sweep.to_dataframe()["param:layers.separator.thickness_um"]) == [5.0, 10.0]
    assert sweep.case(1).value("polarization/layers/separator/thickness") == 10.0


def test_dir_lists_the_api_and_import_stays_light():
    import subprocess
    import sys
    assert {"Simulation", "SimulationResult", "open"} <= set(dir(sim)) and "_LAZY" not in dir(sim)
    code = "import sys, sim; print(sorted(m for m in ('h5py', 'xarray', 'pandas', 'matplotlib', 'numpy') if m in sys.modules))"
    shown = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert shown.strip() == "[]"
