"""The sweep result file: one HDF5 file, grown case by case, never left half-written.

Each flush copies the current file to a temporary file beside it, appends the new case groups
and rewrites the summary there, fsyncs it and renames it over the original (os.replace).  A
SIGKILL at any moment therefore leaves either the previous or the new complete file.  A lock
file (OUT.lock, holding the writer's pid) refuses a second writer on the same output.

Layout: /cases/<id>/... (that case's full result, attributes `status`, `wall_time_s`, `error`,
`parameters_json`), /summary/<column> (one row per case), root attributes as for single runs
plus `sweep_text`, `sweep_digest`, `varied_keys`.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
from pathlib import Path

import h5py
import numpy as np

from sim.errors import ResultFileError
from sim.io import _PENDING as PENDING
from sim.io import Q, write_datasets

STATUS_OK, STATUS_FAILED, STATUS_PENDING = "ok", "failed", "pending"


def read_state(path, digest):
    """{case id: status} of an existing sweep file, checked against the sweep's digest."""
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("sweep_digest") != digest:
                raise ResultFileError(f"{path}: was written by a different sweep (cases or base changed); "
                                      "remove it or write to another file")
            ids = f["summary/case_id"][()]
            status = [s.decode() if isinstance(s, bytes) else str(s) for s in f["summary/status"][()]]
            return dict(zip(ids.tolist(), status))
    except OSError as e:
        raise ResultFileError(f"{path}: not a readable sweep file ({e})") from None


def image(data):
    """An in-memory HDF5 file holding {path: Q}, as bytes."""
    bio = io.BytesIO()
    with h5py.File(bio, "w") as f:
        write_datasets(f, data)
    return bio.getvalue()


def flush(path, root_attrs, new_cases, summary, fresh=False):
    """Atomically add `new_cases` ({id: (attrs, HDF5 image bytes)}) and replace the summary.

    summary: {column: Q(array)}.  fresh: start from an empty file instead of a copy.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=".sim-", suffix=".h5.tmp", dir=path.parent)   # short: long names stay valid
    os.close(fd)
    PENDING.add(tmp)                     # removed by sim.io.terminate_handler on SIGTERM
    try:
        if not fresh and path.exists():
            shutil.copyfile(path, tmp)
            mode = "r+"
        else:
            mode = "w"
        with h5py.File(tmp, mode) as f:
            for k, v in root_attrs.items():
                f.attrs[k] = v
            for cid, (attrs, img) in new_cases.items():
                name = f"cases/{cid:06d}"
                if name in f:
                    del f[name]
                g = f.require_group(name)
                for k, v in attrs.items():
                    g.attrs[k] = v
                if img:
                    with h5py.File(io.BytesIO(img), "r") as src:
                        for k in src:
                            src.copy(src[k], g, name=k)
            if "summary" in f:
                del f["summary"]
            write_datasets(f.require_group("summary"), summary)
            f["summary"].attrs.create("columns", np.array(list(summary), dtype=object), dtype=h5py.string_dtype())
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        PENDING.discard(tmp)


def _columns_attr(v):
    """The summary's column order: an array of strings (older files: a JSON string)."""
    if v is None:
        return []
    if isinstance(v, (str, bytes)):
        return json.loads(v)
    return [c.decode() if isinstance(c, bytes) else str(c) for c in v]


def read_summary(path):
    """The summary table of a sweep file as a structured numpy array, and the columns' units."""
    try:
        with h5py.File(path, "r") as f:
            cols = {k: f[f"summary/{k}"] for k in f["summary"]}
            units = {k: str(d.attrs.get("units", "")) for k, d in cols.items()}
            order = _columns_attr(f["summary"].attrs.get("columns")) or sorted(cols)
            arrays = {k: cols[k][()] for k in order}
    except (OSError, KeyError) as e:
        raise ResultFileError(f"{path}: no sweep summary ({e})") from None
    dtype = []
    for k in order:
        a = arrays[k]
        if a.dtype.kind in "OSU":
            arrays[k] = np.array([x.decode() if isinstance(x, bytes) else str(x) for x in a])
            dtype.append((k, f"U{max(1, max((len(x) for x in arrays[k]), default=1))}"))
        else:
            dtype.append((k, a.dtype))
    out = np.zeros(len(arrays[order[0]]) if order else 0, dtype=dtype)
    for k in order:
        out[k] = arrays[k]
    return out, units


def summary_columns(ids, keys, values, rows, key_units=None):
    """Columns of the summary: case_id, status, wall_time, error, varied parameters, observables.

    rows: {id: (status, wall_time, error, {observable: Q})}.  Observables missing for a case are NaN.
    """
    ids = np.asarray(ids)
    obs_units = {}
    for _, _, _, scal in rows.values():
        for k, q in scal.items():
            obs_units.setdefault(k, q.units)
    cols = {"case_id": Q(ids, "1"),
            "status": Q(np.array([rows.get(i, (STATUS_PENDING,))[0] for i in ids]), ""),
            "wall_time": Q(np.array([rows[i][1] if i in rows else np.nan for i in ids]), "s"),
            "error": Q(np.array([rows[i][2] if i in rows else "" for i in ids]), "")}
    for j, key in enumerate(keys):
        cols[f"param:{key}"] = Q(values[:, j], (key_units or {}).get(key, ""))
    for k, unit in sorted(obs_units.items()):
        cols[k] = Q(np.array([float(rows[i][3][k].value) if i in rows and k in rows[i][3] else np.nan
                              for i in ids]), unit)
    return cols
