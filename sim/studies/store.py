"""The sweep result file: one HDF5 file, grown case by case, never left half-written.

The file is grown in memory (`SweepImage`): case rows are written into an HDF5 file image, and
each flush rewrites the summary there, writes the image to a temporary file, fsyncs it and
renames it over the original (os.replace).  A
SIGKILL at any moment therefore leaves either the previous or the new complete file.  A lock
file (OUT.lock, holding the writer's pid) refuses a second writer on the same output.

Layout: /case_records and /cases/<path> (one row per case: sim.columns), /summary/<column> (one
row per case; attribute `digest`), root attributes as for single runs plus `sweep_text`,
`sweep_digest`, `varied_keys`.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import h5py
import numpy as np

from sim.errors import ResultFileError, SimError
from sim import columns
from sim import inputs
from sim import io as sio
from sim.io import (Q, SEAL_TAG, USERBLOCK_BYTES, _datasets, content_digest, long_name, open_image,
                    read_sealed, seal_ok, stored_records, sweep_digest, verify_sweep, write_datasets,
                    write_image_atomically)

STATUS_OK, STATUS_FAILED, STATUS_PENDING = "ok", "failed", "pending"


class DamagedSweepFile(ResultFileError):
    """A sweep file written by sim whose bytes no longer match its checksum and from which no case
    can be read (HDF5 cannot open it, its records are unreadable, or checking it hung)."""


def verified_cases(path, digest, deadline_s=60.0):
    """The completed cases of an existing sweep file that can be trusted, for `--resume`.

    Returns ({case id: (status, wall time s, error, {path: Q} of the case)}, [(case id, reason)],
    intact): a case counts as done only if the summary says "ok", its group is present and
    readable, its status attribute agrees and its datasets match the digest written with them.
    The cases in the second list are computed again.  `intact` is False when the file's own
    checksum failed: then the cases were checked in a child process (HDF5 can loop inside damaged
    metadata; the child is killed after `deadline_s`) and the file must be rebuilt, not appended to.
    Raises ResultFileError for an intact file of another sweep or a file sim did not write, and
    DamagedSweepFile for a damaged sim file from which nothing can be read.
    """
    path = Path(path)
    img = inputs.read_bytes(path, "result", lambda why: ResultFileError(f"{path}: {why}"))
    if seal_ok(img):
        done, repaired, root_ok = _verified_in(img, path, digest)
        return done, repaired, root_ok           # edited and resealed: rebuilt from the cases that verify
    if not img.startswith(SEAL_TAG) and img[USERBLOCK_BYTES:USERBLOCK_BYTES + 8] != b"\x89HDF\r\n\x1a\n":
        read_sealed(path, "sweep file")          # raises the reason (not HDF5, or not written by this sim)
    import multiprocessing as mp
    ctx = mp.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_verify_in_child, args=(send, img, path, digest), daemon=True)
    child.start()
    send.close()
    try:
        if not receive.poll(deadline_s):
            raise DamagedSweepFile(f"{path}: damaged (its bytes do not match its checksum), and checking its "
                                   f"cases took over {deadline_s:g} s")
        try:
            outcome, value = receive.recv()
        except EOFError:
            raise DamagedSweepFile(f"{path}: damaged (its bytes do not match its checksum) so that reading it "
                                   "crashed HDF5") from None
    finally:
        if child.is_alive():
            child.kill()
        child.join()
    if outcome == "error":                # whatever it says (even "another sweep") was read from damaged bytes
        raise DamagedSweepFile(f"{value} (and its bytes do not match its checksum: damaged)")
    done, repaired, _ = value
    return done, repaired, False


def _verify_in_child(conn, img, path, digest):
    try:
        conn.send(("ok", _verified_in(img, path, digest)))
    except ResultFileError as e:
        conn.send(("error", str(e)))
    except Exception as e:       # anything HDF5 throws at damaged bytes
        conn.send(("error", f"{path}: not a readable sweep file ({type(e).__name__}: {str(e)[:80]})"))
    finally:
        conn.close()


def _verified_in(img, path, digest):
    """verified_cases on the bytes `img` of the file `path` (see there); (done, repaired, root_ok):
    root_ok is False when the file's records, summary or root attributes fail their digest (the cases
    are still checked one by one, and the file is rebuilt from those that verify)."""
    f = open_image(img, path)
    done, repaired = {}, []
    with f:
        try:
            verify_sweep(f, sio.root_attrs(f, path), path)
            root_ok = True
        except ResultFileError:
            root_ok = False
        try:
            if f.attrs.get("sweep_digest") != digest:
                raise ResultFileError(f"{path}: was written by a different sweep (cases or base changed); "
                                      "remove it or write to another file")
            ids = np.asarray(f["summary/case_id"][()]).astype(np.int64).tolist()
            status = [s.decode() if isinstance(s, bytes) else str(s) for s in f["summary/status"][()]]
            recs = columns.records(f)
        except ResultFileError:
            raise
        except (OSError, KeyError, RuntimeError, ValueError, TypeError) as e:
            raise ResultFileError(f"{path}: not a readable sweep file ({e})") from None
        try:                                   # every column once; row by row only if a column is damaged
            bulk = columns.read_rows(f, [i for i, s in zip(ids, status) if s == STATUS_OK])
        except (OSError, KeyError, RuntimeError, ValueError, TypeError):
            bulk = None
        seen = set()
        for i, s in zip(ids, status):
            if i in seen:
                repaired.append((i, "case_id listed twice in the summary"))
                done.pop(i, None)
                continue
            seen.add(i)
            if s != STATUS_OK:
                continue
            rec = recs[i] if 0 <= i < len(recs) else None
            if rec is None:
                repaired.append((i, "marked ok but its rows are missing"))
                continue
            if rec.get("status") != STATUS_OK:
                repaired.append((i, "summary and case record disagree on its status"))
                continue
            try:
                row = bulk[i][1] if bulk is not None and i in bulk else columns.read_row(f, i, rec.get("paths", []))
                data = {p: Q(v, u, a) for p, (v, u, a) in row.items()}
            except (OSError, KeyError, RuntimeError, ValueError, TypeError) as e:
                repaired.append((i, f"unreadable ({str(e)[:80]})"))
                continue
            if not data or rec.get("digest") != content_digest(data):
                repaired.append((i, "data do not match its digest"))
            else:
                done[i] = (STATUS_OK, float(rec.get("wall_time_s", np.nan)), str(rec.get("error", "")), data)
    return done, repaired, root_ok


class SweepImage:
    """The sweep file being grown, held open in memory (an HDF5 file image) for the whole sweep.

    `add` writes case rows into the image only; `commit` rewrites the summary there and writes the
    whole image to `path` by sim.io.write_image_atomically (temporary file, fsync, rename), so a
    kill, a full disk or a file-size limit leaves the previous complete file.  Keeping the image
    open lets a runner create the file's columns (most of a write: an HDF5 dataset and about seven
    attributes per result path) from the first case that arrives, while workers compute the
    others, instead of at the end while they wait; nor does a flush read the file back first.
    """

    def __init__(self, path, n, fresh=False):
        self.path, self.n = Path(path), n
        start = read_sealed(self.path, "sweep file") if not fresh and self.path.exists() else None
        self._bio = io.BytesIO(start or b"")
        if start:
            self._f = h5py.File(self._bio, "r+")
            try:
                _datasets(self._f, self.path, max_bytes=len(start))      # no foreign storage or links
            except BaseException:
                self._f.close()
                raise
        else:
            self._f = h5py.File(self._bio, "w", userblock_size=USERBLOCK_BYTES)
        self.uncommitted = 0         # cases whose rows the image holds but the file on disk does not yet
        self._known = {}             # column handles and metadata (`columns.write_rows`)
        self._has_columns = False

    def add(self, new_cases):
        """Write the rows of `new_cases` ({id: (record dict, {path: Q})}) into the image (sim.columns,
        each column written once for all of them)."""
        try:
            columns.write_rows(self._f, self.n, {i: (record, {p: (q.value, q.units, q.attrs) for p, q in data.items()})
                                                 for i, (record, data) in new_cases.items()}, self._known)
        except TypeError as e:
            raise SimError(f"{self.path}: {e} (a bug in sim: please report it); the file keeps the cases written "
                           "before") from None
        except OSError as e:                               # HDF5 failing in memory: the file on disk is untouched
            raise ResultFileError(f"{self.path}: could not write the result ({e}); the file keeps the cases "
                                  "written before") from None
        self.uncommitted += len(new_cases)

    @property
    def has_columns(self):
        """True once the image holds case columns (sim.columns; asked once per case, and each HDF5
        lookup costs a tenth of a millisecond, so a True answer is kept)."""
        if not self._has_columns:
            self._has_columns = columns.COLUMNS in self._f
        return self._has_columns

    def commit(self, root_attrs, summary):
        """Set the root attributes, replace the summary ({column: Q(array)}, one row per case) and
        write the image atomically to the path."""
        f = self._f
        try:
            for k, v in root_attrs.items():
                f.attrs[k] = v
            if "summary" in f:
                del f["summary"]
            write_datasets(f, {f"summary/{k}": q for k, q in summary.items()})     # dims are paths in the file
            summary_digest = content_digest(summary)
            f["summary"].attrs["digest"] = summary_digest
            f["summary"].attrs.create("columns", np.array(list(summary), dtype=object), dtype=h5py.string_dtype())
            # xarray reads a group's `coordinates` like a variable's (CF): the varied parameters become
            # coordinates of `open_dataset(file, group="summary")` (one attribute, not one per column)
            f["summary"].attrs["coordinates"] = " ".join(c for c in summary if c.startswith("param:"))
            f.attrs["content_sha256"] = sweep_digest(stored_records(f), summary_digest, sio.root_attrs(f, self.path))
            f.flush()                                      # the image in _bio is now a complete file
        except OSError as e:                               # HDF5 failing in memory: the file on disk is untouched
            raise ResultFileError(f"{self.path}: could not write the result ({e}); the previous file, if any, "
                                  "is unchanged") from None
        write_image_atomically(self.path, self._bio.getvalue())
        self.uncommitted = 0

    def close(self):
        self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def read_case(path, case_id):
    """{path: Q} of one case of a sweep file, verified against its digest (and the file's own digests)."""
    img = read_sealed(path, "sweep file")
    with open_image(img, path) as f:
        recs = verify_sweep(f, sio.root_attrs(f, path), path)
        if not 0 <= case_id < len(recs) or recs[case_id] is None:
            raise ResultFileError(f"{path}: has no case {case_id}")
        rec = recs[case_id]
        try:
            row = columns.read_row(f, case_id, rec.get("paths", []))
        except (OSError, KeyError, RuntimeError, ValueError, TypeError) as e:
            raise ResultFileError(f"{path}: case {case_id}: unreadable rows ({str(e)[:80]})") from None
        data = {p: Q(v, u, a) for p, (v, u, a) in row.items()}
    if rec.get("status") == STATUS_OK and content_digest(data) != rec.get("digest"):
        raise ResultFileError(f"{path}: case {case_id}: its rows do not match the digest written with them")
    return data


def _columns_attr(v):
    """The summary's column order: an array of strings (older files: a JSON string)."""
    if v is None:
        return []
    if isinstance(v, (str, bytes)):
        return json.loads(v)
    return [c.decode() if isinstance(c, bytes) else str(c) for c in v]


def read_summary(path):
    """The summary table of a sweep file as a structured numpy array, and the columns' units."""
    img = read_sealed(path, "sweep file")
    try:
        with open_image(img, path) as f:
            verify_sweep(f, sio.root_attrs(f, path), path)          # the summary's digest and the file's
            cols = {k: f[f"summary/{k}"] for k in f["summary"]}
            units = {k: str(d.attrs.get("units", "")) for k, d in cols.items()}
            order = _columns_attr(f["summary"].attrs.get("columns")) or sorted(cols)
            arrays = {k: cols[k][()] for k in order}
    except ResultFileError:
        raise
    except (OSError, KeyError) as e:
        raise ResultFileError(f"{path}: no sweep summary ({e})") from None
    return _table(order, arrays), units


def summary_table(summary):
    """The structured array `read_summary` returns, from the {column: Q} that `SweepImage.commit`
    writes (the same table, without reading the file back)."""
    return _table(list(summary), {k: np.asarray(q.value) for k, q in summary.items()})


def _table(order, arrays):
    """Columns {name: array} in `order` as one structured array (text as str)."""
    dtype = []
    arrays = dict(arrays)
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
    return out


def summary_columns(ids, keys, values, rows, key_units=None):
    """Columns of the summary: case_id, status, wall_time, error, varied parameters, observables.

    rows: {id: (status, wall_time, error, {observable: Q})}.  Observables missing for a case are NaN.
    """
    ids = np.asarray(ids)
    obs_units = {}
    for _, _, _, scal in rows.values():
        for k, q in scal.items():
            obs_units.setdefault(k, q.units)
    # netCDF view (xarray.open_dataset(file, group="summary")): every column on the dimension case_id and a
    # CF `long_name` on each (the varied parameters become coordinates through the group's `coordinates`
    # attribute, written by SweepImage.commit)
    dims = ("summary/case_id",)
    cols = {"case_id": Q(ids, "1", {"long_name": "case number"}, dims),
            "status": Q(np.array([rows.get(i, (STATUS_PENDING,))[0] for i in ids]), "",
                        {"long_name": "status"}, dims),
            "wall_time": Q(np.array([rows[i][1] if i in rows else np.nan for i in ids]), "s",
                           {"note": "NaN: the case has not run yet (status pending)", "long_name": "wall time"}, dims),
            "error": Q(np.array([rows[i][2] if i in rows else "" for i in ids]), "",
                       {"long_name": "error message"}, dims)}
    for j, key in enumerate(keys):
        cols[f"param:{key}"] = Q(values[:, j], (key_units or {}).get(key, ""), {"long_name": key}, dims)
    for k, unit in sorted(obs_units.items()):
        cols[k] = Q(np.array([float(rows[i][3][k].value) if i in rows and k in rows[i][3] else np.nan
                              for i in ids]), unit,
                    {"note": "NaN: the case failed or is pending, or the observable is undefined for it "
                             "(see read_case for the case)", "long_name": long_name(k.replace(".", "/"))}, dims)
    return cols
