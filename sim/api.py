"""The Python API: a case as an object, validated like a case file, solved in memory; results from
memory or from a file, as named arrays with units, xarray or pandas.

    import sim
    s = sim.Simulation.from_dict({"kind": "pnp", "layers": {...}})      # or .from_file / .from_toml
    s.set("layers.sse.thickness_m", 10e-9)        # validated: a bad value raises the case file's error
    r = s.solve()                                 # an in-memory result
    r.value("pnp/phi"), r.units("pnp/phi")        # named arrays with units (the HDF5 paths)
    r.plot("figures", formats="png,pdf")          # the figures `sim figures` draws
    r.save("results/x.h5")                        # the same HDF5 file `sim run` writes
    r = sim.open("results/x.h5")                  # any result or sweep file, digests checked
    r.to_xarray()                                 # xarray.DataTree of the file's groups
    r.to_xarray("pnp")                            # xarray.Dataset of one group: phi, c_<species> on x
    r.to_dataframe("pnp/sweep")                   # pandas: the 1-D datasets of a group against its coordinate
    sim.open("results/sweep.h5").to_dataframe()   # pandas: a sweep's summary, one row per case

Modelled on PyBaMM's Simulation (build, change parameters, solve) and py-pde's separate objects.
xarray and pandas are imported only by the methods that return their objects.
"""
from __future__ import annotations

import copy
import difflib
from collections import Counter
from pathlib import Path

import numpy as np

from sim import highlights, inputs
from sim.case import (Case, apply_overrides, case_from_result, parse_case_text, plausibility, read_case_text,
                      resolved_materials, validate_document)
from sim.errors import SimError, UnknownKey
from sim.io import SEAL_TAG, Lock, Result, check_output_path, provenance, read_result, write_result

FIGURE_FORMATS = ("pdf", "png", "svg", "eps", "ps", "jpg", "jpeg", "tif", "tiff", "webp")


def figure_formats(spec, what="formats"):
    """('pdf', 'png') from 'pdf,png', 'pdf' or a sequence of names; an unknown format is one SimError."""
    from sim.schema import suggest
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    formats = tuple(str(f).strip().lower().lstrip(".") for f in items if str(f).strip())
    for fmt in formats:
        if fmt not in FIGURE_FORMATS:
            raise SimError(f"{what}: {fmt!r} is not a figure format{suggest(fmt, FIGURE_FORMATS)} "
                           f"(choose from {', '.join(FIGURE_FORMATS)})")
    if not formats:
        raise SimError(f"{what}: give at least one format, e.g. pdf,png")
    return formats


def close_keys(key, candidates, n=3):
    """Up to n candidates close to `key`: by the whole path, then by its last component (so that
    'pnp/observables/total_asr' finds 'pnp/observables/total_excess_resistance')."""
    candidates = [str(c) for c in candidates]
    sep = "/" if "/" in str(key) else "."
    found = difflib.get_close_matches(str(key), candidates, n=n, cutoff=0.6)
    leaf = str(key).rsplit(sep, 1)[-1]
    by_leaf = {}
    for c in candidates:
        by_leaf.setdefault(c.rsplit(sep, 1)[-1], []).append(c)
    for name in difflib.get_close_matches(leaf, list(by_leaf), n=n, cutoff=0.6):
        found += [c for c in by_leaf[name] if c.startswith(str(key).rsplit(sep, 1)[0]) or len(by_leaf[name]) == 1]
    out = list(dict.fromkeys(found))[:n]
    return out


def _unknown(key, candidates, what, where, listing):
    close = close_keys(key, candidates)
    hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
    return UnknownKey(f"{where}: no {what} {key!r}{hint}; {listing} lists them")


def _dotted(params, prefix=""):
    """Every dotted key path of nested dicts."""
    out = []
    for k, v in params.items():
        path = f"{prefix}{k}"
        out.append(path)
        if isinstance(v, dict):
            out += _dotted(v, path + ".")
    return out


def _is_result_file(path):
    head = inputs.head(path, 520)
    return head.startswith(SEAL_TAG) or head[:8] == b"\x89HDF\r\n\x1a\n" or head[512:520] == b"\x89HDF\r\n\x1a\n"


class Simulation:
    """A validated case.  Every change goes through the case schema, so the object is always valid."""

    def __init__(self, document, path="<dict>", text="", overrides=()):
        self._doc = copy.deepcopy(document)
        self.path = Path(path)
        self.text = text
        self._overrides = list(overrides)
        self.kind, self.params = validate_document(self._doc, self.path)

    @classmethod
    def from_file(cls, path):
        """A case file, or the case stored in a result file (its text and --set overrides, as
        `sim run --from` re-runs it).  A sweep file is refused in one line pointing to sim.open."""
        if _is_result_file(path):
            r = read_result(path)
            if r.attrs.get("study") == "sweep":
                raise SimError(f"{path}: a sweep file, not one case: open it with sim.open({str(path)!r}) "
                               "(its cases: .case(i)) or run it again with `sim sweep`")
            case = case_from_result(path)
            doc = apply_overrides(parse_case_text(case.text, case.path), case.overrides, f"{path} (overrides)")
            return cls(doc, case.path, case.text, case.overrides)
        text = read_case_text(path)
        return cls(parse_case_text(text, path), path, text)

    @classmethod
    def from_toml(cls, text, name="<toml>"):
        return cls(parse_case_text(text, name), name, text)

    @classmethod
    def from_dict(cls, document, name="<dict>"):
        return cls(document, name)

    def set(self, key=None, value=None, **keys):
        """Change parameters by dotted key path (`set("layers.sse.thickness_m", 1e-8)`) or as keywords
        for top-level keys (`set(temperature_K=310)`).  Validated like the file; on error nothing changes."""
        changes = ([(key, value)] if key is not None else []) + list(keys.items())
        doc = apply_overrides(copy.deepcopy(self._doc), changes, f"{self.path} (set)")
        self.kind, self.params = validate_document(doc, self.path)
        self._doc = doc
        self._overrides += changes
        return self

    def get(self, key):
        """A resolved parameter (defaults filled in) by dotted key path; an unknown key names the
        closest existing ones."""
        v = self.params
        for part in key.split("."):
            if not isinstance(v, dict) or part not in v:
                raise _unknown(key, _dotted(self.params), "parameter", self.path, "s.params")
            v = v[part]
        return v

    @property
    def warnings(self):
        """Plausibility warnings (values that are legal but almost certainly unit mistakes)."""
        return plausibility(self.params)

    def solve(self):
        """Run the model in memory; returns a SimulationResult."""
        from sim.run import compute
        case = Case(self.path, self.text, self.kind, self.params, list(self._overrides))
        data = compute(case)
        attrs = provenance(self.text or repr(self._doc), self.path, self.kind, self.params, self._overrides,
                           resolved_materials(self.params))
        return SimulationResult(Path(str(self.path)), attrs, data)

    def __repr__(self):
        return f"<Simulation {self.kind} {str(self.path)!r}{f', {len(self._overrides)} change(s)' if self._overrides else ''}>"


def open(path):  # noqa: A001 - sim.open, like gzip.open: the package's way in
    """Load a result or sweep file written by sim (seal, structure and every digest checked) as a
    SimulationResult, the object `Simulation.solve()` returns."""
    r = read_result(path)
    return SimulationResult(r.path, r.attrs, r.data)


class SimulationResult(Result):
    """Named arrays with units ({HDF5 path: Q}); plot and save like `sim run` results; xarray and
    pandas views.  From `Simulation.solve()` or `sim.open(path)` (then also a sweep file)."""

    @property
    def is_sweep(self):
        return self.attrs.get("study") == "sweep"

    def keys(self, prefix=""):
        prefix = prefix.strip("/")
        return sorted(k for k in self.data if k.startswith(prefix))

    def __getitem__(self, key):
        path = str(key).strip("/")
        if path not in self.data:
            raise _unknown(path, self.data, "dataset", self.path, "r.keys()")
        return self.data[path]

    def units(self, key):
        return self[key].units

    def __repr__(self):
        what = "sweep" if self.is_sweep else self.attrs.get("kind", "?")
        head = f"<SimulationResult {what} of {self.attrs.get('case_path') or self.path}, {len(self.data)} datasets"
        body = highlights.lines(self, indent="    ")
        return head + (":\n" + "\n".join(body) + ">" if body else ">")

    def plot(self, out_dir="figures", formats=("png",), style=None):
        """Draw every figure this result supports; formats: 'png', 'pdf,png' or a sequence.  Returns the paths."""
        from sim.figures import render_all
        return render_all(self, Path(out_dir), figure_formats(formats), style)

    def save(self, path):
        """Write the HDF5 file `sim run` would write (atomically, under the writers' lock that
        `sim run` and `sim sweep` take); returns its path."""
        if self.is_sweep:
            raise SimError(f"{path}: a sweep is saved by `sim sweep` as it runs; copy the file {self.path} instead")
        out = check_output_path(path)
        with Lock(out):
            return write_result(out, self.data, dict(self.attrs))

    def case(self, i):
        """Case i of a sweep file, as a SimulationResult (its datasets, verified against its digest)."""
        if not self.is_sweep:
            raise SimError(f"{self.path}: not a sweep file; it is one case")
        from sim.studies import read_case
        data = read_case(self.path, int(i))
        return SimulationResult(Path(f"{self.path}#case{int(i)}"), {**self.attrs, "study": ""}, data)

    # ---- xarray and pandas ----------------------------------------------------------------------

    def _netcdf_data(self):
        """The {path: Q} that the xarray view shows: a single result's datasets; a sweep's summary."""
        if self.is_sweep:
            return {k: q for k, q in self.data.items() if k.startswith("summary/")}
        return self.data

    def to_xarray(self, group=None):
        """The result in xarray: with no group, an `xarray.DataTree` of every group (coordinates
        inherited by subgroups: `tree["pnp/sweep"]` has x); with a group ('pnp', 'pnp/sweep',
        'summary' of a sweep file), an `xarray.Dataset` of that group with its ancestors'
        coordinates.  It is what `xarray.open_datatree(file, engine="h5netcdf")` gives for the
        file, loaded into memory; a sweep's tree holds its summary (cases: `.case(i)`)."""
        tree = _datatree(self._netcdf_data())
        if group is None:
            return tree
        g = str(group).strip("/")
        try:
            node = tree[g]
        except KeyError:
            groups = sorted({k.rsplit("/", 1)[0] for k in self._netcdf_data() if "/" in k})
            raise _unknown(g, groups, "group", self.path, "r.to_xarray()") from None
        return node.to_dataset(inherit=True)

    def to_dataframe(self, group=None, dim=None):
        """A pandas DataFrame (units per column in `df.attrs["units"]`):
        - a sweep file: its summary, one row per case (index case_id; varied parameters, status,
          wall time, error and every scalar observable as columns);
        - group=None: every scalar numeric dataset, one row each (index path; columns value, units);
        - a group: every 1-D dataset under it (subgroups included, named by their path below it)
          along one coordinate, `dim`, as the index (default: the commonest coordinate of the group
          itself, e.g. x for 'pnp' and the cathode potential for 'pnp/sweep')."""
        import pandas as pd
        from sim.export import summary_order
        if self.is_sweep:
            cols = {k[len("summary/"):]: q for k, q in self.data.items() if k.startswith("summary/")}
            order = summary_order(cols)
            df = pd.DataFrame({c: np.asarray(cols[c].value) for c in order},
                              index=pd.Index(np.asarray(cols["case_id"].value), name="case_id"))
            df.attrs["units"] = {c: cols[c].units for c in order}
            return df
        if group is None:
            rows = [(k, float(np.asarray(q.value)), q.units) for k, q in sorted(self.data.items())
                    if not isinstance(q.value, str) and np.ndim(q.value) == 0 and np.asarray(q.value).dtype.kind in "fiub"]
            df = pd.DataFrame([r[1:] for r in rows], columns=["value", "units"],
                              index=pd.Index([r[0] for r in rows], name="path"))
            return df
        prefix = str(group).strip("/") + "/"
        ones = {k: q for k, q in self.data.items() if k.startswith(prefix) and len(q.dims) == 1 and q.dims != (k,)}
        if not ones:
            groups = sorted({k.rsplit("/", 1)[0] for k, q in self.data.items() if len(q.dims) == 1})
            raise _unknown(prefix[:-1], groups, "group with 1-D datasets", self.path, "r.keys()")
        if dim is None:               # the commonest coordinate of the group itself, else of its subgroups
            counts = Counter(q.dims[0] for q in ones.values())
            own = [d for d, _ in counts.most_common() if d.rsplit("/", 1)[0] == prefix[:-1]]
            dim = own[0] if own else counts.most_common(1)[0][0]
        dim = str(dim).strip("/")
        if dim not in self.data:
            raise _unknown(dim, {q.dims[0] for q in ones.values()}, "coordinate", self.path, "r.keys()")
        picked = {k[len(prefix):]: q for k, q in sorted(ones.items()) if q.dims == (dim,)}
        coord = self.data[dim]
        df = pd.DataFrame({k: np.asarray(q.value) for k, q in picked.items()},
                          index=pd.Index(np.asarray(coord.value), name=dim.rsplit("/", 1)[-1]))
        df.attrs["units"] = {k: q.units for k, q in picked.items()}
        df.attrs["units"][df.index.name] = coord.units
        return df


def _datatree(data):
    """xarray.DataTree of {path: Q}: written into an in-memory HDF5 file by the writer of result
    files (dimension scales, aliases) and read back by xarray's h5netcdf engine."""
    import io
    import h5py
    import xarray as xr
    from sim.io import with_long_names, write_datasets
    bio = io.BytesIO()
    with h5py.File(bio, "w") as f:
        write_datasets(f, with_long_names(data))
    bio.seek(0)
    with xr.open_datatree(bio, engine="h5netcdf", phony_dims="access") as tree:
        return tree.load().copy()
