"""Self-describing files: every result opens in xarray (h5netcdf engine) with its coordinates, and
sim.open gives the same views; the seal and digests still verify a file that xarray has read."""
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest

import sim
from sim.errors import ResultFileError
from sim.io import Q, read_result, write_result

xr = pytest.importorskip("xarray")
ROOT = Path(__file__).resolve().parent.parent


def _open(path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")            # no phony-dimension warning: every axis is labelled
        return xr.open_dataset(path, engine="h5netcdf", **kw).load()


def test_every_kind_opens_in_xarray_with_every_axis_labelled(demo_results):
    """Every group of every shipped case's result opens and reads in open_datatree without a warning; no
    dataset has an axis without a dimension scale; sim.open gives the DataTree (one result per kind) and
    the file still verifies afterwards.  (open_dataset of single groups: the tests below.)"""
    _, results = demo_results
    kinds = set()
    for stem, path in results.items():
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            xr.open_datatree(path, engine="h5netcdf").load()     # every group opened and read
        unlabelled = []
        with h5py.File(path) as f:
            f.visititems(lambda n, o: unlabelled.append(n) if isinstance(o, h5py.Dataset) and o.ndim
                         and not o.is_scale and any(len(d) == 0 for d in o.dims) else None)
            kind = f.attrs["kind"]
        assert not unlabelled, f"{stem}: datasets without dimensions: {unlabelled}"
        if kind not in kinds:                                   # the results API, once per kind
            kinds.add(kind)
            assert isinstance(sim.open(path).to_xarray(), xr.DataTree)
        read_result(path)                                       # seal and digests still verify
    assert kinds == {"pnp", "energy_density", "polarization", "design_map", "uncertainty", "fit"}


def test_pnp_profiles_and_the_potential_sweep(demo_results):
    """The acceptance of issue 28: group 'pnp' gives phi and every concentration on x (m); its sweep
    group has the cathode potential (V) as coordinate; the values are those of the HDF5 datasets."""
    _, results = demo_results
    path = results["lco_lps"]
    ds = _open(path, group="pnp")
    assert ds["phi"].dims == ("x",) and ds["x"].attrs["units"] == "m" and ds["phi"].attrs["units"] == "V"
    assert ds["x"].attrs["long_name"] == "position (cell centre)"
    with h5py.File(path) as f:
        species = [s.decode() for s in f["pnp/species"][()]]
        for s in species:
            assert ds[f"c_{s}"].dims == ("x",) and ds[f"c_{s}"].attrs["units"] == "mol/m^3"
            np.testing.assert_array_equal(ds[f"c_{s}"].values, f[f"pnp/c/{s}"][()])
        np.testing.assert_array_equal(ds["x"].values, f["pnp/x"][()])
    sweep = _open(path, group="pnp/sweep")
    assert "cathode_potential" in sweep.indexes and sweep["cathode_potential"].attrs["units"] == "V"
    assert sweep["phi"].dims == ("cathode_potential", "x")
    assert all(sweep[f"c_{s}"].dims == ("cathode_potential", "x") for s in species)
    obs = sim.open(path).to_xarray("pnp/sweep/observables")
    assert obs["total_excess_resistance"].dims == ("cathode_potential",) and "x" in obs.coords    # inherited
    read_result(path)                                          # seal and digest unchanged by the readers


def test_transient_impedance_energy_polarization_and_map_coordinates(demo_results):
    _, results = demo_results
    tr = _open(results["lco_lps_charging"], group="pnp/transient")
    assert tr["phi"].dims == ("setpoint", "time", "x") and tr["voltage"].dims == ("setpoint", "time")
    assert tr["setpoint"].attrs["units"] == "mA/cm^2" and list(tr["setpoint"].values) == [0.1, 1.0, 3.0]
    assert tr["time"].dims == ("setpoint", "time")             # each run's own times, beside the nominal ones
    assert sim.open(results["lco_lps_charging"]).to_xarray("pnp/transient")["time"].dims == ("setpoint", "time")
    imp = _open(results["lco_lps_impedance"], group="pnp/impedance")
    assert imp["dc_excess_resistance"].dims == ("temperature",) and imp["temperature"].attrs["units"] == "K"
    spec = _open(results["lco_lps_impedance"], group="pnp/impedance/T_298.15K")
    assert spec["z_real"].dims == ("frequency",) and spec["frequency"].attrs["units"] == "Hz"
    fig3b = _open(results["fig3_energy_density"], group="energy/fig3b/LLZO")
    assert fig3b["specific_energy"].dims == ("separator_thickness",)
    curve = _open(results["separator_budget"], group="polarization/curve")
    assert curve["polarization"].dims == ("separator_thickness",) and curve["separator_thickness"].attrs["units"] == "um"
    dm = _open(results["design_map"], group="design_map")
    assert dm["specific_energy"].dims == ("conductivity", "separator_thickness")
    assert _open(results["design_map"], group="design_map/variant_0")["feasible"].dims == (
        "conductivity", "separator_thickness")


def test_sweep_summary_opens_with_the_swept_quantity_as_coordinate(tmp_path):
    from sim.studies import run_sweep
    (tmp_path / "base.toml").write_text((ROOT / "cases" / "separator_budget.toml").read_text())
    (tmp_path / "s.toml").write_text('base = "base.toml"\n[parameters."layers.separator.thickness_um"]\n'
                                     'values = [5.0, 10.0, 20.0]\n')
    run_sweep(tmp_path / "s.toml", tmp_path / "s.h5", executor="serial", progress=False)
    ds = _open(tmp_path / "s.h5", group="summary")
    key = "param:layers.separator.thickness_um"
    assert key in ds.coords and ds[key].attrs["units"] == "um" and list(ds[key].values) == [5.0, 10.0, 20.0]
    assert ds["polarization.total"].dims == ("case_id",)
    by_thickness = ds.swap_dims(case_id=key)["polarization.total"]
    assert by_thickness.sel({key: 10.0}).item() > 0
    r = sim.open(tmp_path / "s.h5")
    df = r.to_dataframe()
    assert list(df[key]) == [5.0, 10.0, 20.0] and df.attrs["units"]["polarization.total"] == "V"
    assert isinstance(r.to_xarray("summary"), xr.Dataset)
    read_result(tmp_path / "s.h5")


def test_dims_that_do_not_fit_are_a_bug_not_a_file(tmp_path):
    """A runner declaring a coordinate that is missing or of another length: one error, nothing written."""
    out = tmp_path / "r.h5"
    for data in ({"a/x": Q(np.arange(3.0), "m"), "a/y": Q(np.arange(4.0), "V", dims=("a/x",))},
                 {"a/y": Q(np.arange(4.0), "V", dims=("a/missing",))},
                 {"a/x": Q(np.arange(4.0), "m"), "a/y": Q(np.ones((4, 2)), "V", dims=("a/x",))}):
        with pytest.raises(ResultFileError, match="a bug in sim"):
            write_result(out, data, {"schema_version": 2})
        assert not out.exists()


def test_alias_is_the_same_dataset_and_read_once(tmp_path):
    """An alias is a second name of the dataset (one copy in the file), read back once under its own
    name; a second name that is not the declared alias is refused."""
    out = tmp_path / "r.h5"
    # the alias sorts before the dataset's own name, so a reader that kept the first name would keep it
    write_result(out, {"g/x": Q(np.arange(3.0), "m", dims=("g/x",)),
                       "g/c/A": Q(np.ones(3), "mol/m^3", dims=("g/x",), alias="g/a_A")}, {"schema_version": 2})
    with h5py.File(out) as f:
        assert f["g/a_A"].id == f["g/c/A"].id
    r = read_result(out)
    assert "g/a_A" not in r.data and r["g/c/A"].alias == "g/a_A" and r["g/c/A"].dims == ("g/x",)
    from sim.io import seal
    with h5py.File(out, "r+") as f:
        f["g/other"] = f["g/x"]                                # an undeclared second name
    out.write_bytes(seal(out.read_bytes()))
    with pytest.raises(ResultFileError, match="two names"):
        read_result(out)
