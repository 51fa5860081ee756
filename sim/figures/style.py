"""Publication style: journal column widths, colour-blind-safe palette, vector output."""
from __future__ import annotations

import contextlib
from pathlib import Path

import logging

import matplotlib

matplotlib.use("Agg")
# fontTools (PDF font subsetting) logs a warning per embedded font about its timestamps: noise for users
logging.getLogger("fontTools").setLevel(logging.ERROR)
import matplotlib.pyplot as plt  # noqa: E402

#: Okabe & Ito (2008) colour-blind-safe palette
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
ONE_COLUMN_IN = 3.35      # 85 mm
TWO_COLUMN_IN = 6.85      # 174 mm

RC = {
    "figure.figsize": (ONE_COLUMN_IN, 2.6),
    "figure.dpi": 150,
    "savefig.dpi": 300,
    "savefig.bbox": "tight",
    "font.size": 8,
    "axes.labelsize": 8,
    "axes.titlesize": 8,
    "legend.fontsize": 7,
    "legend.frameon": False,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "lines.linewidth": 1.2,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
    "pdf.fonttype": 42,
    "figure.constrained_layout.use": True,
}


@contextlib.contextmanager
def use_style(style_file=None):
    """House style, optionally overridden by a matplotlib style file (a regular UTF-8 file of bounded
    size: sim.inputs; matplotlib's own errors on its content are one SimError line)."""
    if style_file:
        from sim import inputs
        from sim.errors import SimError
        inputs.read_text(style_file, "style", lambda why: SimError(f"style file {style_file}: {why}"))
    styles = [RC] + ([str(style_file)] if style_file else [])
    with plt.style.context(styles):
        yield


def save(fig, out_dir, name, formats):
    paths = []
    for fmt in formats:
        p = Path(out_dir) / f"{name}.{fmt}"
        fig.savefig(p)
        paths.append(p)
    plt.close(fig)
    return paths


_PRETTY = {"um": "µm", "ohm cm^2": "Ω cm²", "mg/cm^2": "mg/cm²", "mA/cm^2": "mA/cm²", "mol/m^3": "mol/m³",
           "C/m^2": "C/m²", "F/m^2": "F/m²", "nm": "nm"}


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def pretty_units(units):
    """'m^4/F^2' -> 'm⁴/F²', 'ohm cm^2' -> 'Ω cm²', 'um' -> 'µm': no ASCII units in a figure."""
    import re
    u = _PRETTY.get(units, units)
    u = re.sub(r"\bohm\b", "Ω", u)
    u = re.sub(r"\bum\b", "µm", u)
    return re.sub(r"\^(-?\d+)", lambda m: m.group(1).translate(_SUPERSCRIPT), u)


def label(name, units):
    """Axis label 'name (units)' with typeset units."""
    return f"{name} ({pretty_units(units)})" if units and units != "1" else name
