"""Every figure that `make demo` draws, drawn from coarse versions of the shipped cases; each one
passes the referee checks of conftest.check_figure (visible data for every legend entry, no raw
keys, no ASCII units) as it is saved."""
from pathlib import Path

import pytest

from sim.case import load_case
from sim.figures import render_all, render_comparison
from sim.run import run_case

ROOT = Path(__file__).resolve().parent.parent
COARSE = [("mesh.h_min_m", 5e-12), ("mesh.h_max_m", 2e-9), ("mesh.growth", 1.2)]


def _cases():
    return sorted((ROOT / "cases").glob("*.toml")) + sorted((ROOT / "cases" / "verification").glob("*.toml"))


def _overrides(path):
    case = load_case(path)
    if case.kind != "pnp" or case.params["surface"].get("bulk_potential_V") is not None:
        return []
    out = list(COARSE)
    if case.params["transient"].get("protocol"):
        out += [("transient.output_points", 6), ("transient.linear_output_points", 4)]
    if case.params["impedance"].get("temperatures_K") is not None:
        out += [("impedance.temperatures_K", [298.15, 353.15]), ("impedance.points_per_decade", 3)]
    if case.params["sweep"].get("potential_V") is not None:
        out += [("sweep.points", 4)]
    return out


@pytest.fixture(scope="module")
def demo_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    results = {}
    for path in _cases():
        results[path.stem] = run_case(load_case(path, _overrides(path)), out / f"{path.stem}.h5")
    return out, results


def test_every_demo_figure_passes_the_referee_checks(demo_results):
    out, results = demo_results
    names = set()
    for stem, h5 in results.items():
        names |= {Path(p).name for p in render_all(h5, out / stem, ("png",))}
    pnp = [h5 for stem, h5 in results.items() if stem not in ("fig3_energy_density", "separator_budget", "design_map")]
    names |= {Path(p).name for p in render_comparison(pnp, out / "comparison", ("png",))}
    expected = {"fig3b_separator_thickness.png", "pnp_profiles.png", "pnp_sweep_rscl_thickness.png",
                "transient_voltage_breakdown.png", "transient_li_profiles.png", "impedance_nyquist.png",
                "impedance_bode.png", "impedance_arrhenius.png", "design_map_specific_energy.png",
                "pnp_surface_sweep.png", "compare_profiles.png", "compare_impedance_arrhenius.png"}
    assert expected <= names, expected - names


def test_sweep_figures_pass_the_referee_checks(tmp_path):
    from sim.studies import run_sweep
    from sim.case import parse_override
    from sim.studies import load_sweep
    sweep = load_sweep(ROOT / "cases" / "sweeps" / "lno_thickness.toml", [parse_override(f"{k}={v}") for k, v in COARSE])
    run_sweep(sweep, tmp_path / "s.h5", executor="serial", progress=False)
    assert {Path(p).name for p in render_all(tmp_path / "s.h5", tmp_path / "f", ("png",))} == {"sweep_lines.png"}
