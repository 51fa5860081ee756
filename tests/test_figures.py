"""Every figure that `make demo` draws, drawn from coarse versions of the shipped cases; each one
passes the referee checks of conftest.check_figure (visible data for every legend entry, no raw
keys, no ASCII units) as it is saved."""
from pathlib import Path


from sim.figures import render_all, render_comparison

ROOT = Path(__file__).resolve().parent.parent
from conftest import COARSE  # noqa: E402


def test_every_demo_figure_passes_the_referee_checks(demo_results):
    out, results = demo_results
    names = set()
    for stem, h5 in results.items():
        names |= {Path(p).name for p in render_all(h5, out / stem, ("png",))}
    pnp = [h5 for stem, h5 in results.items()
           if stem not in ("fig3_energy_density", "separator_budget", "design_map") and not stem.startswith("fit_")]
    names |= {Path(p).name for p in render_comparison(pnp, out / "comparison", ("png",))}
    expected = {"fig3b_separator_thickness.png", "pnp_profiles.png", "pnp_sweep_rscl_thickness.png",
                "transient_voltage_breakdown.png", "transient_li_profiles.png", "impedance_nyquist.png",
                "impedance_bode.png", "impedance_arrhenius.png", "design_map_specific_energy.png",
                "pnp_surface_sweep.png", "compare_profiles.png", "compare_impedance_arrhenius.png",
                "fit_spectrum.png"}
    assert expected <= names, expected - names


def test_sweep_figures_pass_the_referee_checks(tmp_path):
    from sim.studies import run_sweep
    from sim.case import parse_override
    from sim.studies import load_sweep
    sweep = load_sweep(ROOT / "cases" / "sweeps" / "lno_thickness.toml", [parse_override(f"{k}={v}") for k, v in COARSE])
    run_sweep(sweep, tmp_path / "s.h5", executor="serial", progress=False)
    assert {Path(p).name for p in render_all(tmp_path / "s.h5", tmp_path / "f", ("png",))} == {"sweep_lines.png"}


def test_sweep_axis_names_say_which_material():
    from sim.studies.figures import pretty
    layers = {"cathode": "LCO", "buffer": "LNO", "sse": "LPS"}
    assert pretty("pnp.observables.interface_1.right.excess_resistance", layers) == "R$_{SCL}$ in LPS (LNO|LPS)"
    assert pretty("pnp.observables.interface_0.left.excess_resistance", layers) == "R$_{SCL}$ in LCO (LCO|LNO)"
    assert pretty("param:layers.buffer.thickness_m", layers) == "thickness, buffer (LNO)"
    assert pretty("pnp.observables.interface_1.right.excess_resistance") == "R$_{SCL}$, interface 1, right side"
