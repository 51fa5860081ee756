"""Measured impedance spectra: the one reader and validator of spectrum CSV files.

A spectrum file is text (UTF-8, read through the input gate `sim.inputs`): lines starting with '#' are
comments, the first other line may be a header of column names, and every further line is one point

    f (Hz), Z' (ohm cm^2), Z'' (ohm cm^2)

separated by commas (or semicolons, tabs, spaces).  Sign convention: Z = dV/dI for perturbations
proportional to e^{i omega t}, so Z'' < 0 for a capacitor (the convention of `sim.pnp.impedance`).  A file
whose third column holds -Z'' (as many instruments export it) is read with convention = "minus_z_imag".
Frequencies may run up or down, strictly; the spectrum is returned with increasing frequency and Z in SI
(ohm m^2).

Everything is checked before a spectrum is computed, and each problem is one line naming the line of the
file: a row without exactly three numbers, non-finite values, fewer than MIN_POINTS or more than
MAX_POINTS points, frequencies outside (0, MAX_FREQUENCY_HZ], repeated or unordered frequencies (a swapped
first column), Z = 0 (a short circuit, or an empty column), |Z| beyond MAX_OHM_CM2, Z' < 0 (a passive cell
has Re Z >= 0: swapped Z' and Z'' columns) and Z'' > 0 at most points (the file holds -Z'').
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from sim import inputs
from sim.units import SI

MIN_POINTS = 5
#: far more than any instrument measures; a fit evaluates the model at every point
MAX_POINTS = 20_000
MAX_FREQUENCY_HZ = 1e13
#: one cycle in about 30 years: nothing is measured below it; smaller is a unit or column error
MIN_FREQUENCY_HZ = 1e-9
#: no cell has |Z| near this (1e16 ohm cm^2 is a 1 pF/cm^2 capacitor at 1e-5 Hz); larger is a unit or column error
MAX_OHM_CM2 = 1e16
#: a nano-micro-ohm cm^2 is below every cell and instrument; smaller is a unit error (and squares of such residuals
#: underflow in a least-squares fit)
MIN_OHM_CM2 = 1e-12
#: Z' below -REAL_TOLERANCE |Z| is not a passive cell (instrument artefacts stay far above it)
REAL_TOLERANCE = 0.01
CONVENTIONS = ("z_imag", "minus_z_imag")
COLUMNS = "f (Hz), Z' (ohm cm^2), Z'' (ohm cm^2)"
_SPLIT = re.compile(r"[,;\s]+")


@dataclass(frozen=True)
class Spectrum:
    """A validated spectrum: frequency (Hz, increasing) and z (complex, ohm m^2, Z'' < 0 for a capacitor); source
    and sha256 name the file and its bytes."""
    frequency: np.ndarray
    z: np.ndarray
    source: str = ""
    sha256: str = ""


#: the advice for a -Z'' file where a `convention` key declares it (the fit kind)
CONVENTION_HINT = ", or declare the file's convention (convention = \"minus_z_imag\")"


def read_spectrum(path, fail=None, convention="z_imag", convention_hint=CONVENTION_HINT):
    """The Spectrum in file `path` (see the module docstring).  Raises fail(reason) (default: InputFileError
    naming the file) for a file that is missing, not a regular file, too large, or not a valid spectrum."""
    path = Path(path)
    fail = fail or (lambda why: _input_error(f"{path}: {why}"))
    import hashlib
    raw = inputs.read_bytes(path, "csv", fail)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise fail(f"not UTF-8 text (byte {e.start})") from None
    s = parse_spectrum(text, fail, convention, source=str(path), convention_hint=convention_hint)
    return replace(s, sha256=hashlib.sha256(raw).hexdigest())


def parse_spectrum(text, fail, convention="z_imag", source="", convention_hint=CONVENTION_HINT):
    """The Spectrum in CSV text; fail(reason) for anything that is not a valid spectrum."""
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {CONVENTIONS}")
    lines = text.splitlines()
    if len(lines) > MAX_POINTS + 1000:              # before parsing: a 1e6-row file is refused at once
        raise fail(f"{len(lines)} lines: more than {MAX_POINTS} points is not a measured spectrum")
    rows, numbers = [], []
    header_seen = False
    for n, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        items = [s for s in _SPLIT.split(line) if s]
        values = [_number(s) for s in items]
        if any(v is None for v in values):
            if not header_seen and not rows and all(v is None for v in values):   # the first line may name the columns
                header_seen = True
                continue
            bad = next(s for s, v in zip(items, values) if v is None)
            raise fail(f"line {n}: {bad!r} is not a number (expected {COLUMNS})")
        if len(values) != 3:
            raise fail(f"line {n} has {len(values)} value{'s' * (len(values) != 1)}; each row is {COLUMNS}")
        rows.append(n)
        numbers.append(values)
    if len(rows) < MIN_POINTS:
        raise fail(f"{len(rows)} data row{'s' * (len(rows) != 1)}; a spectrum needs at least {MIN_POINTS} rows of {COLUMNS}")
    if len(rows) > MAX_POINTS:
        raise fail(f"{len(rows)} rows: more than {MAX_POINTS} points is not a measured spectrum")
    data = np.array(numbers, float)
    f, zr, zi = data[:, 0], data[:, 1], data[:, 2]
    if convention == "minus_z_imag":
        zi = -zi
    check(f, zr, zi, fail, rows, convention_hint)
    order = slice(None) if f[-1] > f[0] else slice(None, None, -1)
    z = (zr + 1j * zi) * SI["ohm cm^2"]
    return Spectrum(f[order].copy(), z[order].copy(), source)


def check(f, z_real, z_imag, fail, rows=None, convention_hint=""):
    """Validate a spectrum given as arrays (f in Hz, Z' and Z'' in ohm cm^2); fail(reason) names the first
    problem, by file line when `rows` (the line number of each point) is given; convention_hint ends the advice
    for a -Z'' file (where the caller has a key that declares it)."""
    f, zr, zi = (np.asarray(a, float) for a in (f, z_real, z_imag))
    rows = list(rows) if rows is not None else None

    def at(k):
        return f"line {rows[k]}" if rows is not None else f"point {k + 1}"
    if not (f.shape == zr.shape == zi.shape) or f.ndim != 1:
        raise fail("f, Z' and Z'' must be 1-D arrays of one length")
    if f.size < MIN_POINTS:
        raise fail(f"{f.size} points; a spectrum needs at least {MIN_POINTS}")
    for name, a in (("frequency", f), ("Z'", zr), ("Z''", zi)):
        bad = np.flatnonzero(~np.isfinite(a))
        if bad.size:
            raise fail(f"{at(bad[0])}: {name} = {a[bad[0]]} is not a finite number")
    bad = np.flatnonzero((f < MIN_FREQUENCY_HZ) | (f > MAX_FREQUENCY_HZ))
    if bad.size:
        raise fail(f"{at(bad[0])}: frequency {f[bad[0]]:g} Hz is outside [{MIN_FREQUENCY_HZ:g}, {MAX_FREQUENCY_HZ:g}] Hz "
                   f"(is the first column the frequency? expected {COLUMNS})")
    step = np.sign(f[1] - f[0])
    bad = np.flatnonzero(np.sign(np.diff(f)) != step) + 1 if step else np.array([1])
    if bad.size:
        k = bad[0]
        what = "repeats" if f[k] == f[k - 1] else "breaks the order of"
        raise fail(f"{at(k)}: frequency {f[k]:g} Hz {what} the line before ({f[k - 1]:g} Hz); frequencies must "
                   f"increase (or decrease) strictly (expected {COLUMNS})")
    mag = np.hypot(zr, zi)
    bad = np.flatnonzero(mag == 0)
    if bad.size:
        raise fail(f"{at(bad[0])}: Z' = Z'' = 0 (a short circuit): not a measured impedance")
    bad = np.flatnonzero((mag > MAX_OHM_CM2) | (mag < MIN_OHM_CM2))
    if bad.size:
        raise fail(f"{at(bad[0])}: |Z| = {mag[bad[0]]:.3g} ohm cm^2 is outside [{MIN_OHM_CM2:g}, {MAX_OHM_CM2:g}] "
                   "ohm cm^2 (a unit or column error?)")
    bad = np.flatnonzero(zr < -REAL_TOLERANCE * mag)
    if bad.size:
        raise fail(f"{at(bad[0])}: Z' = {zr[bad[0]]:.4g} ohm cm^2 < 0, but a passive cell has Re Z >= 0: are the "
                   f"columns swapped? (expected {COLUMNS})")
    positive = int(np.sum(zi > 0))
    if positive > f.size / 2:
        raise fail(f"Z'' > 0 at {positive} of {f.size} points: the file looks like -Z''. Here Z = dV/dI with "
                   "e^(i omega t), so Z'' < 0 for a capacitor: negate the third column" + convention_hint)


def to_csv(f, z, header_lines=()):
    """CSV text of a spectrum (f in Hz, z complex in ohm m^2) in the format read_spectrum reads; header_lines
    become '#' comments."""
    zc = np.asarray(z) / SI["ohm cm^2"]
    out = [f"# {h}" for h in header_lines] + ["f_Hz,z_real_ohm_cm2,z_imag_ohm_cm2"]
    out += [f"{a:.10g},{b:.10g},{c:.10g}" for a, b, c in zip(f, zc.real, zc.imag)]
    return "\n".join(out) + "\n"


def _number(s):
    try:
        return float(s)
    except ValueError:
        return None


def _input_error(message):
    from sim.errors import InputFileError
    return InputFileError(message)
