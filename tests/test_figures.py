"""Every figure that `make demo` draws, drawn from coarse versions of the shipped cases; each one
passes the referee checks of conftest.check_figure (sim/figures/referee.py) as it is saved, also when
worker processes save them (sim/figures/pool.py)."""
from pathlib import Path

import numpy as np
import pytest

from sim.figures import render_all, render_comparison

ROOT = Path(__file__).resolve().parent.parent
from conftest import COARSE  # noqa: E402


# slow: draws every demo figure (~70 s); the default run referees every figure the other tests draw
@pytest.mark.slow
def test_every_demo_figure_passes_the_referee_checks(demo_results, tmp_path):
    _, results = demo_results
    out = tmp_path
    names = set()
    for stem, h5 in results.items():
        names |= {Path(p).name for p in render_all(h5, out / stem, ("png",))}
    pnp = [h5 for stem, h5 in results.items() if stem not in ("fig3_energy_density", "separator_budget", "design_map")
           and not stem.startswith(("uncertainty_", "fit_"))]
    names |= {Path(p).name for p in render_comparison(pnp, out / "comparison", ("png",))}
    expected = {"fig3b_separator_thickness.png", "pnp_profiles.png", "pnp_sweep_rscl_thickness.png",
                "transient_voltage_breakdown.png", "transient_li_profiles.png", "impedance_nyquist.png",
                "impedance_bode.png", "impedance_arrhenius.png", "design_map_specific_energy.png",
                "pnp_surface_sweep.png", "compare_profiles.png", "compare_impedance_arrhenius.png",
                "uncertainty_band_total_interfacial_resistance.png",
                "uncertainty_difference_total_interfacial_resistance_lco_lno_lps_minus_lco_lps.png",
                "uncertainty_indices_lco_lps_excess_resistance.png", "uncertainty_band_total_separator_budget.png",
                "uncertainty_indices_separator_budget_total.png", "fit_spectrum.png"}
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
    assert pretty("pnp.observables.interface_1.right.excess_resistance", layers) == "excess ΔR$_{SCL}$ in LPS (LNO|LPS)"
    assert pretty("pnp.observables.interface_0.left.excess_resistance", layers) == "excess ΔR$_{SCL}$ in LCO (LCO|LNO)"
    assert pretty("param:layers.buffer.thickness_m", layers) == "thickness, buffer (LNO)"
    assert pretty("pnp.observables.interface_1.right.excess_resistance") == "excess ΔR$_{SCL}$, interface 1, right side"


def test_worker_processes_write_the_same_figures_as_the_caller(demo_results, tmp_path):
    """The same files with the same pictures (to a pixel of layout: matplotlib's text metrics carry
    per-process caches, so the bytes need not be equal)."""
    import matplotlib.image as mpimg
    out, results = demo_results
    serial = render_all(results["fig3_energy_density"], tmp_path / "serial", ("png",), jobs=1)
    parallel = render_all(results["fig3_energy_density"], tmp_path / "parallel", ("png",), jobs=2)
    assert [p.name for p in serial] == [p.name for p in parallel]
    for a, b in zip(serial, parallel):
        A, B = mpimg.imread(a)[..., :3], mpimg.imread(b)[..., :3]
        assert abs(A.shape[0] - B.shape[0]) <= 2 and abs(A.shape[1] - B.shape[1]) <= 2, a.name
        ink_a, ink_b = np.sum(1 - A.mean(-1)), np.sum(1 - B.mean(-1))      # one curve of six is ~7 % of the ink
        assert abs(ink_a - ink_b) < 0.01 * ink_a, a.name


def test_a_defect_found_in_a_worker_reaches_the_caller(tmp_path):
    import matplotlib.pyplot as plt
    from sim.figures.pool import parallel
    from sim.figures.referee import RefereeError
    from sim.figures.style import save, use_style
    with pytest.raises(RefereeError, match="covers plotted data"):
        with use_style(), parallel(2):
            fig, ax = plt.subplots()
            ax.plot([0, 1], [0, 1], label="data")
            ax.legend(loc="center")
            save(fig, tmp_path, "bad", ("png",))


def test_a_figure_that_cannot_be_pickled_is_saved_by_the_caller(tmp_path):
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter
    from sim.figures.pool import parallel
    from sim.figures.style import save, use_style
    with use_style(), parallel(2) as session:
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, 1])
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, pos: f"{v:.1f}"))     # a lambda: no pickle
        paths = save(fig, tmp_path, "lambda", ("png",))
        assert paths[0].exists() and session.executor is None                      # written here, at once


def test_the_drawn_circuit_curve_is_the_stored_fit(demo_results):
    """Evaluated from the stored parameters (units converted to SI and back), the circuit gives
    back the fit's own stored rms residual against the stored spectrum."""
    from sim.io import read_result
    from sim.kinds.pnp.impedance_figures import fitted_curve
    out, results = demo_results
    r = read_result(results["lco_lno_lps_impedance"])
    for g in [g for g in r.groups("pnp/impedance") if g.startswith("T_")]:
        f = r.value(f"pnp/impedance/{g}/frequency")
        Z = r.value(f"pnp/impedance/{g}/z_real") + 1j * r.value(f"pnp/impedance/{g}/z_imag")
        res = (fitted_curve(r, g, f) - Z) / np.abs(Z)
        rms = np.sqrt(np.mean(np.concatenate([res.real, res.imag]) ** 2))
        assert rms == pytest.approx(float(r.value(f"pnp/impedance/{g}/fit/relative_rms_residual")), rel=1e-9)


def test_arrhenius_fit_recovers_the_activation_energy():
    from sim.kinds.pnp.impedance_figures import arrhenius_fit
    from sim.units import BOLTZMANN, ELEMENTARY_CHARGE
    T = np.array([298.15, 313.15, 333.15, 353.15])
    R = 2e-6 * np.exp(0.42 * ELEMENTARY_CHARGE / (BOLTZMANN * T))
    Ea, dEa, _ = arrhenius_fit(T, R, se=0.01 * R)
    assert Ea == pytest.approx(0.42, rel=1e-9) and 0 < dEa < 0.01
    noisy = R * np.array([1.02, 0.98, 1.01, 0.99])
    Ea, dEa, _ = arrhenius_fit(T, noisy)                          # unweighted: the error from the scatter
    assert abs(Ea - 0.42) < 3 * dEa and dEa > 0


def test_a_measured_spectrum_is_drawn_with_its_fit(demo_results, monkeypatch, tmp_path):
    from dataclasses import replace
    from sim.figures import pool
    from sim.figures.style import use_style
    from sim.io import read_result
    from sim.kinds.pnp.impedance_figures import nyquist
    out, results = demo_results
    r = read_result(results["lco_lps_impedance"])
    data = dict(r.data)
    for k, q in r.data.items():                   # the 25 °C spectrum and its fit, stored as "measured"
        if k.startswith("pnp/impedance/T_298.15K/"):
            data[k.replace("T_298.15K", "measured")] = q
    figs = []
    monkeypatch.setattr(pool, "submit", lambda fig, paths, style=None: figs.append(fig))
    with use_style():
        nyquist(replace(r, data=data), tmp_path, ("png",))
    ax = figs[0].axes[0]
    measured = [ln for ln in ax.get_lines() if ln.get_label() == "measured"]
    assert len(measured) == 1 and len(measured[0].get_xdata()) == len(r.value("pnp/impedance/T_298.15K/frequency"))
    assert any(ln.get_linestyle() == "--" and ln.get_color() == "k" for ln in ax.get_lines())   # its fit


@pytest.mark.slow
def test_every_docs_figure_passes_the_referee_checks(tmp_path, monkeypatch):
    """`python -m sim.verification all` (make docs-figures) into a scratch folder: every figure of
    docs/figures is drawn, each through the referee checks (in this process: jobs 1)."""
    from sim.verification.__main__ import main
    monkeypatch.setenv("SIM_FIGURE_JOBS", "1")
    assert main(["all", str(tmp_path)]) == 0
    docs = {p.name for p in (ROOT / "docs" / "figures").glob("*.png")}
    assert docs == {p.name for p in tmp_path.glob("*.png")}
