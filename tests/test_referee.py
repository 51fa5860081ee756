"""Each referee check of sim/figures/referee.py (applied by conftest to every figure a test saves)
fails on a figure drawn with exactly that defect, and passes once the defect is mended."""
import numpy as np
import pytest

import matplotlib.pyplot as plt

from sim.figures.referee import RefereeError, check
from sim.figures.style import use_style, wide_range


@pytest.fixture
def style():
    with use_style():
        yield
    plt.close("all")


def _line(ax, n=200):
    x = np.linspace(0.0, 1.0, n)
    ax.plot(x, x, label="data")
    return x


def test_a_tidy_figure_passes(style):
    fig, ax = plt.subplots()
    _line(ax)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("excess resistance (Ω cm²)")
    ax.legend(loc="lower right")
    check(fig)


def test_legend_over_data_fails(style):
    fig, ax = plt.subplots()
    _line(ax)
    ax.legend(loc="center")                      # the diagonal runs through the centre
    with pytest.raises(RefereeError, match="covers plotted data"):
        check(fig)
    ax.legend(loc="lower right")                 # the empty corner: passes
    check(fig)


def test_legend_over_tick_labels_fails(style):
    fig, ax = plt.subplots()
    _line(ax)
    ax.set_ylabel("y")
    fig.draw_without_rendering()
    y = ax.transData.transform((0.0, 0.6))[1] / fig.bbox.height     # the height of the tick label "0.6"
    leg = fig.legend(loc="center left", bbox_to_anchor=(0.0, y))     # at the figure's left edge, over it
    with pytest.raises(RefereeError, match="covers the (tick label|axis label)"):
        check(fig)
    leg.remove()
    fig.legend(loc="outside right upper")
    check(fig)


def test_legend_over_a_reference_line_fails(style):
    fig, ax = plt.subplots()
    _line(ax)
    ax.axvline(0.05, color="0.5", ls="--")       # a reference line through the legend's handle
    ax.legend(loc="upper left")
    with pytest.raises(RefereeError, match="covers plotted data"):
        check(fig)


def test_overlapping_tick_labels_fail(style):
    fig, ax = plt.subplots()
    x = np.geomspace(0.015, 0.5, 6)              # the mesh-refinement figure's x range
    ax.loglog(x, x ** 2, "o-")
    with pytest.raises(RefereeError, match="tick labels .* overlap"):
        check(fig)                               # log minor labels 2x10^-2, 3x10^-2, ... overprint
    from matplotlib.ticker import NullFormatter
    ax.set_xticks([0.02, 0.05, 0.1, 0.2], ["0.02", "0.05", "0.1", "0.2"])
    ax.xaxis.set_minor_formatter(NullFormatter())
    check(fig)


def test_overlapping_texts_fail(style):
    fig, ax = plt.subplots()
    _line(ax)
    ax.set_title("a title")
    ax.text(0.5, 1.02, "a label on top of the title", transform=ax.transAxes, ha="center")
    with pytest.raises(RefereeError, match="overlap"):
        check(fig)


def test_text_over_data_fails(style):
    fig, ax = plt.subplots()
    _line(ax)
    ax.annotate("10$^{3}$ Hz", (0.5, 0.5))       # on the curve
    with pytest.raises(RefereeError, match="covers plotted data"):
        check(fig)


def test_more_than_twelve_decades_need_a_stated_reason(style):
    fig, ax = plt.subplots()
    x = np.linspace(0.0, 1.0, 50)
    ax.semilogy(x, 10.0 ** (-26 * x))            # a Boltzmann depletion over 26 decades
    ax.set_ylabel("concentration / bulk")
    with pytest.raises(RefereeError, match=r"spans \d+ decades"):
        check(fig)
    ax.sim_wide_range_reason = "falls to 10⁻²⁶ at the surface"
    with pytest.raises(RefereeError, match="not shown on the figure"):
        check(fig)                               # a reason nobody can read does not count
    wide_range(ax, "V$_{Li}'$ falls to 10⁻²⁶ of its bulk value at the surface")
    check(fig)


def test_twelve_decades_on_a_symlog_axis_count_too(style):
    fig, ax = plt.subplots()
    x = np.linspace(-1.0, 1.0, 50)
    ax.plot(x, np.sign(x) * 10.0 ** (8 * np.abs(x)))
    ax.set_yscale("symlog", linthresh=1e-1)
    ax.set_yticks([-1e8, 0.0, 1e8])
    with pytest.raises(RefereeError, match="decades"):
        check(fig)


def test_negative_resistance_needs_excess_in_its_label(style):
    fig, ax = plt.subplots()
    ax.plot([3.9, 4.2, 4.4], [-1e-3, 2e-3, 5e-3], label="LPS side")
    ax.set_ylabel("R$_{SCL}$ (Ω cm²)")
    with pytest.raises(RefereeError, match="negative values"):
        check(fig)
    ax.set_ylabel("resistance (Ω cm²)")
    with pytest.raises(RefereeError, match="negative values"):
        check(fig)
    ax.set_ylabel("excess resistance ΔR$_{SCL}$ (Ω cm²)")
    check(fig)


def test_negative_resistance_on_a_colour_bar_needs_excess(style):
    fig, ax = plt.subplots()
    m = ax.pcolormesh(np.array([[-2e-4, 1e-3], [2e-3, 6e-2]]))
    cb = fig.colorbar(m, ax=ax, label="total interfacial ASR (Ω cm²)")
    with pytest.raises(RefereeError, match="negative values"):
        check(fig)
    cb.set_label("total interfacial excess resistance (Ω cm²)")
    check(fig)


def test_positive_resistance_needs_no_excess(style):
    fig, ax = plt.subplots()
    ax.semilogy([2.8, 3.0, 3.3], [0.5, 1.0, 3.7], "o-", label="R1")
    ax.set_ylabel("resistance (Ω cm²)")
    ax.legend(loc="lower right")
    check(fig)


def test_raw_keys_and_legend_entries_without_data_fail(style):
    fig, ax = plt.subplots()
    _line(ax)
    ax.set_xlabel("thickness_1pct (um)")
    with pytest.raises(RefereeError, match="raw key or an ASCII unit"):
        check(fig)
    ax.set_xlabel("thickness (µm)")
    ax.plot([5.0], [5.0], label="off the axes")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    with pytest.raises(RefereeError, match="no visible data"):
        check(fig)
