"""`sim export RESULT.h5 --csv DIR`: a result or sweep file as CSV tables, units in the header.

One CSV per table, each column headed `name (units)` (no unit for text):
  scalars.csv            every scalar dataset: path, value, units
  <coordinates>.csv      the datasets that share their dimensions (sim.io.Q.dims), named by the
                         coordinate paths with '/' as '.' and axes joined by '--' (pnp.x.csv: x, phi,
                         every concentration; pnp.sweep.cathode_potential--pnp.x.csv: one row per
                         potential and position); an array of two or more dimensions is written long,
                         one row per element, with a column per coordinate
  summary.csv            a sweep file's summary, one row per case (its case rows: sim.open(f).case(i))
Datasets written before dimensions were recorded get a table each, indexed by element number.
Files are written next to each other in DIR, each atomically (temporary file, then renamed).
"""
from __future__ import annotations

import csv
import io
import os
import tempfile
from pathlib import Path

import numpy as np

from sim.errors import ResultFileError


def _header(name, units):
    return f"{name} ({units})" if units else name


def _cells(a):
    """Values as CSV cells: floats with repr precision (round trip), text as is."""
    a = np.asarray(a).ravel()
    if a.dtype.kind == "f":
        return [repr(float(v)) for v in a]
    return [str(v.item() if hasattr(v, "item") else v) for v in a]


def _write_csv(path, header, columns):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(zip(*columns))
    fd, tmp = tempfile.mkstemp(prefix=".sim-", suffix=".csv.tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(buf.getvalue())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def summary_order(columns):
    """A sweep summary's columns (case_id aside) as a reader wants them: the varied parameters, the
    status, wall time and error of each case, then the observables in name order."""
    first = [c for c in ("status", "wall_time", "error") if c in columns]
    return (sorted(c for c in columns if c.startswith("param:")) + first
            + sorted(c for c in columns if c not in first and c != "case_id" and not c.startswith("param:")))


def tables(result):
    """{file name: (header, columns)} of a result (sim.io.Result), as described in the module docstring."""
    data = result.data
    if result.attrs.get("study") == "sweep":
        cols = {k[len("summary/"):]: q for k, q in data.items() if k.startswith("summary/")}
        order = ["case_id"] + summary_order(cols)
        return {"summary.csv": ([_header(c, cols[c].units) for c in order], [_cells(cols[c].value) for c in order])}
    out = {}
    scalars = sorted(k for k, q in data.items() if isinstance(q.value, str) or np.ndim(q.value) == 0)
    if scalars:
        out["scalars.csv"] = (["path", "value", "units"],
                              [scalars, [_cells(data[k].value)[0] for k in scalars], [data[k].units for k in scalars]])
    groups = {}
    for k, q in sorted(data.items()):
        if k in scalars:
            continue
        if q.dims and all(d in data and np.ndim(data[d].value) == 1 for d in q.dims):
            dims = q.dims
        else:                                          # no recorded dimensions: element numbers
            dims = tuple(f"{k}#{axis}" for axis in range(np.ndim(q.value)))
        groups.setdefault(dims, []).append(k)
    for dims, names in groups.items():
        shape = np.shape(data[names[0]].value)
        axes, header = [], []
        for d, n in zip(dims, shape):
            if d in data:
                axes.append(np.asarray(data[d].value))
                header.append(_header(d.rsplit("/", 1)[-1], data[d].units))
            else:
                axes.append(np.arange(n))
                header.append(f"index {d.rsplit('#', 1)[-1]}")
        grid = np.meshgrid(*axes, indexing="ij") if len(axes) > 1 else axes
        columns = [_cells(g) for g in grid]
        for k in names:
            if dims == (k,):
                continue                               # the coordinate is the first column already
            header.append(_header(k, data[k].units))
            columns.append(_cells(data[k].value))
        name = "--".join(d.replace("/", ".").replace("#", ".axis") for d in dims) + ".csv"
        out[name] = (header, columns)
    return out


def export_csv(result, out_dir):
    """Write the tables of `result` (a sim.io.Result) into out_dir; returns the paths."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ResultFileError(f"{out_dir}: exists and is not a folder; give a folder for the CSV files")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        return [_write_csv(out_dir / name, header, columns) for name, (header, columns) in tables(result).items()]
    except OSError as e:
        if isinstance(e, ResultFileError):
            raise
        raise ResultFileError(f"{out_dir}: could not write the CSV files ({e.strerror or e})") from None
