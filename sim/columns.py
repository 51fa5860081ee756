"""Case rows of a sweep file: every result path is one dataset with a row per case.

A sweep of n cases stores case i's dataset `pnp/phi` as row i of `/cases/pnp/phi` (shape (n,)),
instead of a group per case: writing a case then costs one element per path, written for all the
cases of a flush at once, not an HDF5 object per dataset and attribute (which cost more than the
solve).  Layout (docs/hdf5-schema.md):

  /case_records         (n,) text: JSON per case {status, wall_time_s, error, parameters, digest, paths}
                        ("" for a case not written yet)
  /cases/<path>         (n,) one row per case; attributes `units`, the dataset's own attributes,
                        and `sweep_encoding`:
                          "number": variable-length array of the values, flattened; `sweep_dtype`
                                    (numpy dtype string) and `sweep_ndim`; rows of arrays with
                                    ndim >= 2 have their shape in /case_shapes/<path> (n, ndim)
                          "text":   a string per row
                          "text-list": a JSON list of strings per row
  /case_attrs/<path>    (n,) JSON of a row's attributes, only where they differ from the
                        column's ("" elsewhere); created when a first row differs
  Each column also carries `sweep_meta_json`, all of the above in one attribute, which is what
  readers and the writer use (one attribute read per column instead of five).

Values round-trip exactly (dtype, shape, text), so a case's content digest can be recomputed from
its row.  This module knows nothing of `Q`: values travel as (value, units, attrs).
"""
from __future__ import annotations

import json

import h5py
import numpy as np

RECORDS = "case_records"
COLUMNS = "cases"
SHAPES = "case_shapes"
ATTRS = "case_attrs"
RESERVED = ("units", "sweep_encoding", "sweep_dtype", "sweep_ndim", "sweep_meta_json")
_STORE = {"f": np.float64, "i": np.int64, "u": np.int64, "b": np.uint8}


def _encoding(value):
    if isinstance(value, str):
        return "text", None
    a = np.asarray(value)
    if a.dtype.kind in "US":
        return "text-list", a
    if a.dtype.kind not in _STORE:
        raise TypeError(f"a sweep row cannot hold dtype {a.dtype}")
    return "number", a


def _jsonable(v):
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return v


def _text_dataset(f, name, n, units):
    ds = f.create_dataset(name, (n,), dtype=h5py.string_dtype())
    ds.attrs["units"] = units
    return ds


def _column(f, path, value, units, attrs, n, known):
    """A new column for `path` (its first row: value, units, attrs); returns (dataset, meta)."""
    enc, a = _encoding(value)
    new = {}
    if enc == "number":
        col = _new_dataset(f, known, f"{COLUMNS}/{path}", n, _row_dtype(enc, a.dtype.str))
        new.update(sweep_dtype=a.dtype.str, sweep_ndim=a.ndim)
    else:
        col = _new_dataset(f, known, f"{COLUMNS}/{path}", n, _row_dtype(enc, ""))
    meta = {"encoding": enc, "units": units, "dtype": a.dtype.str if enc == "number" else "",
            "ndim": int(a.ndim) if enc == "number" else 0, "attrs": attrs, "own_attrs": False}
    new.update(sweep_encoding=enc, units=units)
    new.update(attrs)                               # a row attribute of the same name wins, as before
    new["sweep_meta_json"] = _meta_json(meta)
    _new_attrs(col, new)
    return col, meta


_ROW_DTYPES = {}


def _row_dtype(enc, dtype_str):
    """The numpy dtype of a column's rows (h5py's variable-length array or string dtype), made once
    (Dataset.dtype asks HDF5 on every call, a twentieth of a millisecond)."""
    key = _STORE[np.dtype(dtype_str).kind] if enc == "number" else enc
    out = _ROW_DTYPES.get(key)
    if out is None:
        out = _ROW_DTYPES[key] = h5py.vlen_dtype(key) if enc == "number" else h5py.string_dtype()
    return out


def _new_dataset(f, known, name, n, dtype):
    """f.create_dataset(name, (n,), dtype=dtype) without h5py's walk of the path on each call: the parent
    group is looked up once per file, and later datasets of a dtype reuse the first one's HDF5 type,
    dataspace and creation property list (the same dataset; half the time of a column)."""
    from h5py import h5d
    parent, leaf = name.rsplit("/", 1)
    groups = known.setdefault("groups", {})
    group = groups.get(parent)
    if group is None:
        group = groups[parent] = f.require_group(parent)
    protos = known.setdefault("protos", {})
    key = (id(dtype), n)
    if key not in protos:
        ds = group.create_dataset(leaf, (n,), dtype=dtype)
        protos[key] = (ds.id.get_type(), ds.id.get_space(), ds.id.get_create_plist())
        return ds
    tid, space, dcpl = protos[key]
    return h5py.Dataset(h5d.create(group.id, leaf.encode(), tid, space, dcpl=dcpl))


_ATTR_TYPES = {}


def _new_attrs(obj, attrs):
    """obj.attrs[k] = v for attributes obj does not have yet.  Text, float and integer values are
    written through h5py's low-level API with the types and scalar space its high-level API gives
    them (half the time: a sweep file's columns carry ~7 attributes each); others go through
    obj.attrs."""
    from h5py import h5a, h5s, h5t
    if not _ATTR_TYPES:
        _ATTR_TYPES.update(str=(h5t.py_create(h5py.string_dtype(), logical=True), h5py.string_dtype()),
                           float=(h5t.py_create(np.dtype(np.float64)), np.float64),
                           int=(h5t.py_create(np.dtype(np.int64)), np.int64), scalar=h5s.create(h5s.SCALAR))
    for k, v in attrs.items():
        t = type(v)
        which = ("str" if t is str else "float" if t is float or t is np.float64 else
                 "int" if (t is int and -2 ** 63 <= v < 2 ** 63) or t is np.int64 else None)
        if which is None or not k.isascii():
            obj.attrs[k] = v
            continue
        tid, dtype = _ATTR_TYPES[which]
        attr = h5a.create(obj.id, k.encode("ascii"), tid, _ATTR_TYPES["scalar"])
        try:
            attr.write(np.array(v, dtype=dtype))
        finally:
            attr.close()


def _set_meta(col, meta):
    """Everything a reader needs about a column in one attribute (each attribute read is a trip into
    HDF5, a fifth of a millisecond): encoding, units, dtype, ndim, the column's attributes (those of
    the first case that wrote it) and whether /case_attrs/<path> exists."""
    col.attrs["sweep_meta_json"] = _meta_json(meta)


def _meta_json(meta):
    return json.dumps(meta, default=_jsonable)


def _meta(col):
    return json.loads(col.attrs["sweep_meta_json"])


def _same_attrs(a, b):
    if a is b:
        return True
    try:                           # plain values (text, numbers): one dict comparison
        return a == b
    except ValueError:             # an array value: compared element-wise below
        pass
    if set(a) != set(b):
        return False
    return all(np.array_equal(np.asarray(a[k]), np.asarray(b[k])) if not isinstance(a[k], str) or not isinstance(b[k], str)
               else a[k] == b[k] for k in a)


def write_rows(f, n, rows, known=None):
    """Write rows {case id: (record dict, {path: (value, units, attrs)})} into an open file of a
    sweep of n cases; each column is written once for all the rows that have it.

    known: a dict that keeps the handles and metadata of the file's columns between calls on the
    same open file (each HDF5 lookup or attribute read costs a tenth of a millisecond or more; a
    sweep writes ~90 columns per flush)."""
    if not rows:
        return
    known = {} if known is None else known
    if "cols" not in known:
        # one walk instead of a lookup per column (each path level is a trip into HDF5)
        known.update(names=_names(f, COLUMNS), shaped=_names(f, SHAPES), cols={}, shapes={}, own={})
    if "records" not in known:
        if RECORDS in f:
            known["records"] = f[RECORDS]
        else:
            known["records"] = _text_dataset(f, RECORDS, n, "")
            known["records"].make_scale(RECORDS)     # netCDF readers see a dimension, not an unlabelled axis
    ids = sorted(rows)
    _write_runs(known["records"], ids, _row_dtype("text", ""),
                [json.dumps({**rows[i][0], "paths": sorted(rows[i][1])}, default=_jsonable) for i in ids])
    by_path = {}
    for i in ids:
        for path, item in rows[i][1].items():
            by_path.setdefault(path, []).append((i, item))
    for path, items in by_path.items():
        entry = known["cols"].get(path)
        if entry is None:
            if path in known["names"]:
                col = f[f"{COLUMNS}/{path}"]
                entry = [col, _meta(col)]
            else:
                value, units, attrs = items[0][1]
                entry = list(_column(f, path, value, units, attrs, n, known))
                known["names"].add(path)
            known["cols"][path] = entry
        col, meta = entry
        enc, common, dtype, ndim = meta["encoding"], meta["attrs"], meta["dtype"], meta["ndim"]
        idx = [i for i, _ in items]
        for i, (v, _, _) in items:                  # a row must round-trip exactly, or its digest breaks
            e, a = _encoding(v)
            if e != enc or (e == "number" and (a.dtype.str != dtype or a.ndim != ndim)):
                raise TypeError(f"case {i}: /{path} is {e} {getattr(a, 'dtype', '')} with "
                                f"{getattr(a, 'ndim', 0)} dimensions, its column holds {enc} {dtype}: "
                                "a sweep's cases must write the same types")
        if enc == "number":
            kind = _STORE[np.dtype(dtype).kind]
            _write_runs(col, idx, _row_dtype(enc, dtype), [np.asarray(v).ravel().astype(kind) for _, (v, _, _) in items])
            if ndim >= 2:
                shapes = known["shapes"].get(path)
                if shapes is None:
                    if path in known["shaped"]:
                        shapes = f[f"{SHAPES}/{path}"]
                    else:
                        shapes = f.create_dataset(f"{SHAPES}/{path}", (n, ndim), dtype=np.int64)
                        shapes.attrs["units"] = "1"
                        known["shaped"].add(path)
                    known["shapes"][path] = shapes
                shapes[idx] = np.array([np.shape(v) for _, (v, _, _) in items], dtype=np.int64)
        elif enc == "text":
            _write_runs(col, idx, _row_dtype(enc, ""), [v for _, (v, _, _) in items])
        else:
            _write_runs(col, idx, _row_dtype(enc, ""), [json.dumps(np.asarray(v).tolist()) for _, (v, _, _) in items])
        same = [_same_attrs(a, common) for _, (_, _, a) in items]
        if not all(same) or meta["own_attrs"]:
            own = known["own"].get(path)
            if own is None:
                name = f"{ATTRS}/{path}"
                if meta["own_attrs"]:
                    own = f[name]
                else:
                    own = _text_dataset(f, name, n, "")
                    entry[1] = meta = {**meta, "own_attrs": True}
                    _set_meta(col, meta)
                known["own"][path] = own
            _write_runs(own, idx, _row_dtype("text", ""), ["" if ok else json.dumps(a, default=_jsonable)
                                   for ok, (_, (_, _, a)) in zip(same, items)])


def _names(f, group):
    """Paths of the datasets under `group` of an open file, relative to it (empty if it does not exist)."""
    names = set()
    if group in f:
        f[group].visititems(lambda name, obj: names.add(name) if isinstance(obj, h5py.Dataset) else None)
    return names


def _write_runs(ds, idx, dtype, values):
    """ds[idx[j]] = values[j] for increasing idx, one HDF5 write per run of consecutive rows (h5py
    cannot write variable-length rows through a list of indices), through the low-level dataset
    (Dataset.write_direct costs a tenth of a millisecond of selection objects per call).  dtype: the
    rows' numpy dtype (`_row_dtype`)."""
    from h5py import h5s
    arr = np.empty(len(values), dtype=dtype)
    for j, v in enumerate(values):
        arr[j] = v
    start = 0
    for j in range(1, len(idx) + 1):
        if j == len(idx) or idx[j] != idx[j - 1] + 1:
            fspace = ds.id.get_space()
            fspace.select_hyperslab((idx[start],), (j - start,))
            ds.id.write(h5s.create_simple((j - start,)), fspace, arr[start:j])
            start = j


def records(f):
    """The case records of an open sweep file: [dict or None (not written)] by case id."""
    if RECORDS not in f:
        return []
    out = []
    for r in f[RECORDS][()]:
        r = r.decode() if isinstance(r, bytes) else str(r)
        out.append(json.loads(r) if r else None)
    return out


def _decode(meta, raw, shape, own):
    """(value, units, attrs) of one row from its stored parts (see the module docstring)."""
    attrs = meta["attrs"]
    if own is not None:
        own = own.decode() if isinstance(own, bytes) else str(own)
        if own:
            attrs = json.loads(own)
    if meta["encoding"] == "number":
        a = np.asarray(raw).astype(np.dtype(meta["dtype"]))
        value = a.reshape(()) if meta["ndim"] == 0 else a if meta["ndim"] == 1 else a.reshape(tuple(shape))
    else:
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        value = text if meta["encoding"] == "text" else np.array(json.loads(text), dtype=str)
    return value, meta["units"], attrs


def _parts(f, path, i):
    """meta and, for row i (an index or a slice), the stored value, shape and own attributes."""
    col = f[f"{COLUMNS}/{path}"]
    meta = _meta(col)
    shape = f[f"{SHAPES}/{path}"][i] if meta["ndim"] >= 2 else None
    own = f[f"{ATTRS}/{path}"][i] if meta["own_attrs"] else None
    return meta, col[i], shape, own


def read_row(f, i, paths):
    """{path: (value, units, attrs)} of case i, for the given paths (from its record)."""
    return {path: _decode(*_parts(f, path, i)) for path in paths}


def read_rows(f, ids):
    """{case id: (record, {path: (value, units, attrs)})} of the written cases among `ids`, each
    column read once for all of them (reading row by row costs an HDF5 call per case and path)."""
    recs = records(f)
    ids = [i for i in ids if 0 <= i < len(recs) and recs[i] is not None]
    columns = {}
    for path in sorted({p for i in ids for p in recs[i].get("paths", [])}):
        meta, raw, shape, own = _parts(f, path, slice(None))
        columns[path] = (meta, raw, shape, own)
    return {i: (recs[i], {p: _decode(columns[p][0], columns[p][1][i],
                                     None if columns[p][2] is None else columns[p][2][i],
                                     None if columns[p][3] is None else columns[p][3][i])
                          for p in recs[i].get("paths", [])}) for i in ids}
