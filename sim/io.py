"""HDF5 output with units and provenance, written atomically, and a reader that returns units.

Layout: every dataset carries a `units` attribute.  The root carries `schema_version`,
`sim_version`, `git_commit`, `created_utc`, `case_text`, `case_path`, `kind` and
`parameters_json` (the resolved parameters after defaults).  See docs/hdf5-schema.md.

Writing goes to a temporary file in the destination folder, which is flushed, fsync'ed and
then renamed over the destination with os.replace: a reader never sees a half-written file
and an interrupted write leaves the previous file intact.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import os
import stat
import struct
import subprocess
import tempfile
import time as _time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
from h5py import h5d, h5l

from sim import __version__, columns, inputs
from sim.errors import ResultFileError, SimError

SCHEMA_VERSION = 2

# Every file sim writes starts with a 512-byte HDF5 user block holding the SHA-256 of the bytes
# after it.  Readers check it in plain Python before HDF5 parses anything: the HDF5 library can
# loop for minutes inside damaged metadata, and nothing in Python can interrupt it there.
USERBLOCK_BYTES = 512
SEAL_TAG = b"sim-result sha256="


@dataclass
class Q:
    """A quantity to store: value (array-like or str), units, extra attributes, and its dimensions.

    dims: one entry per axis of `value`, the path (in the same {path: Q}) of the 1-D dataset that
    holds that axis's coordinate values: `Q(phi, "V", dims=("pnp/x",))`; a 1-D coordinate names
    itself (`Q(x, "m", dims=("pnp/x",))`).  The writer makes every dataset named in some `dims` an
    HDF5 dimension scale (a netCDF-4 coordinate variable) and attaches it to each axis, so that
    xarray and netCDF readers see phi(x) with x in m.
    alias: a second path for the same dataset (an HDF5 hard link), e.g. `pnp/c_Li_i` for
    `pnp/c/Li_i`: netCDF readers open one group at a time, and the alias puts every concentration
    beside phi in the group `pnp`.
    Both are stored as plain attributes (`dims`, space-separated; `alias`), so they are read back,
    covered by the content digest and carried by sweep rows like any attribute.
    """
    value: object
    units: str
    attrs: dict = field(default_factory=dict)
    dims: tuple = ()
    alias: str = ""

    def __post_init__(self):
        if self.dims:
            self.dims = tuple(self.dims)
            self.attrs = {**self.attrs, "dims": " ".join(self.dims)}
        elif self.attrs:                                 # declared as, or read back from, the attribute
            d = self.attrs.get("dims")
            if isinstance(d, str) and not d.startswith("("):      # "(potential, x)": free text of older files
                self.dims = tuple(d.split())
        if self.alias:
            self.attrs = {**self.attrs, "alias": self.alias}
        elif self.attrs and isinstance(self.attrs.get("alias"), str):
            self.alias = self.attrs["alias"]


def git_commit():
    """The commit of the source tree this package runs from, or '' outside a git checkout."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True,
                             text=True, timeout=5)
        if out.returncode == 0:
            dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                   cwd=here, capture_output=True, text=True, timeout=5).stdout.strip()
            return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return ""


def _json_default(o):
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    return str(o)


def provenance(case_text="", case_path="", kind="", parameters=None, overrides=None, materials=None):
    """Root attributes of a result: versions, the case text and path (relative to the working
    directory where possible), --set overrides, resolved parameters and the resolved materials."""
    case_path = _relative(case_path)
    return {
        "overrides_json": json.dumps([list(o) for o in overrides or []], default=_json_default),
        "materials_json": json.dumps(materials or {}, default=_json_default, sort_keys=True),
        "schema_version": SCHEMA_VERSION,
        "sim_version": __version__,
        "git_commit": git_commit(),
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "case_text": case_text,
        "case_path": str(case_path),
        "kind": kind,
        "parameters_json": json.dumps(parameters or {}, default=_json_default, sort_keys=True),
    }


def _relative(path):
    """A path relative to the working directory when it lies below it (results stay portable)."""
    from pathlib import Path as _P
    if not path:
        return ""
    p = _P(path)
    try:
        return str(p.resolve().relative_to(_P.cwd().resolve()))
    except (ValueError, OSError):
        return str(p)


def write_datasets(group, data):
    """Write {path: Q} under an open h5py group, then its dimension scales and aliases (see Q)."""
    for path, q in data.items():
        if not isinstance(q, Q):
            raise TypeError(f"{path}: expected a Q(value, units), got {type(q).__name__}")
        if isinstance(q.value, str):
            ds = group.create_dataset(path, data=q.value, dtype=h5py.string_dtype())
        else:
            arr = np.asarray(q.value)
            if arr.dtype.kind in "US":
                ds = group.create_dataset(path, data=arr.astype(object), dtype=h5py.string_dtype())
            else:
                ds = group.create_dataset(path, data=arr)
        columns._new_attrs(ds, {"units": q.units, **q.attrs})     # h5py's types, through its faster low-level API
    _dimension_scales(group, data)


def _dimension_scales(group, data):
    """Make each dataset named in a `dims` an HDF5 dimension scale named after its last path component
    (what netCDF-4 calls a coordinate variable: h5netcdf and netCDF-C name the dimension by it), attach
    it to every axis that names it, and link the aliases.  A `dims` that does not fit (an unknown
    path, a coordinate that is not 1-D or has another length than the axis) is a bug in the runner."""
    def bug(path, why):
        return ResultFileError(f"internal: /{path}: {why} (a bug in sim: please report it)")
    scales = {}
    for path, q in data.items():
        if not q.dims:
            continue
        shape = np.shape(q.value) if not isinstance(q.value, str) else ()
        if len(q.dims) != len(shape):
            raise bug(path, f"dims {q.dims} name {len(q.dims)} axes, the value has {len(shape)}")
        for d, n in zip(q.dims, shape):
            c = data.get(d)
            if c is None or isinstance(c.value, str) or np.ndim(c.value) != 1 or len(c.value) != n:
                raise bug(path, f"dims names /{d}, which is not a 1-D dataset of {n} values")
            if d not in scales:
                scales[d] = group[d]
                scales[d].make_scale(d.rsplit("/", 1)[-1])
    for path, q in data.items():
        if q.dims and q.dims != (path,):
            if path in scales:
                raise bug(path, "a coordinate (dimension scale) cannot have dimensions of its own")
            ds = group[path]
            for axis, d in enumerate(q.dims):
                ds.dims[axis].attach_scale(scales[d])
        if q.alias:
            if q.alias in data or q.alias in group:
                raise bug(path, f"its alias /{q.alias} is already a dataset")
            group[q.alias] = group[path]            # a hard link: the same dataset under a second name


#: CF-style `long_name` of datasets by the last component of their path (others: the path in words)
LONG_NAMES = {
    "x": "position (cell centre)", "x_faces": "position of the cell faces", "phi": "electrostatic potential",
    "cathode_potential": "cathode potential vs Li/Li+", "bulk_potential": "bulk potential", "time": "time",
    "frequency": "frequency", "temperature": "temperature", "z_real": "real part of the impedance",
    "z_imag": "imaginary part of the impedance", "excess_resistance": "space-charge excess resistance over the bulk",
    "total_excess_resistance": "total space-charge excess resistance", "total_interfacial_resistance": "total interfacial resistance, buffer layers included", "interlayer_bulk_resistance": "bulk resistance of the buffer layers", "contact_potential": "contact potential",
    "thickness_1pct": "space-charge-layer thickness (1 % criterion)", "setpoint": "set point of the run",
    "loading": "cathode loading", "separator_thickness": "separator thickness",
    "conductivity": "ionic conductivity", "specific_energy": "specific energy", "energy_density": "energy density",
}


def long_name(path):
    """The CF `long_name` of a dataset at `path`: from LONG_NAMES, 'concentration of S' under a `c` or
    `c_bulk` group, else the last path component in words."""
    parts = path.strip("/").split("/")
    leaf = parts[-1]
    if len(parts) >= 2 and parts[-2] in ("c", "c_bulk"):
        return ("bulk " if parts[-2] == "c_bulk" else "") + f"concentration of {leaf}"
    return LONG_NAMES.get(leaf, leaf.replace("_", " "))


def with_long_names(data):
    """{path: Q} with a CF `long_name` attribute on every dataset that has none (a new Q where one is
    added; the caller's Q objects are left as they are)."""
    out = {}
    for path, q in data.items():
        if "long_name" in q.attrs:
            out[path] = q
        else:
            out[path] = Q(q.value, q.units, {**q.attrs, "long_name": long_name(path)}, q.dims, q.alias)
    return out


def _utf8(text):
    """UTF-8 bytes of any str, damaged ones (lone surrogates from undecodable bytes) included."""
    return str(text).encode("utf-8", "surrogatepass")


#: what `_canonical_bytes` puts before the raw bytes of a float scalar: the dtype and shape of its
#: contiguous array (np.ascontiguousarray makes a 0-d array 1-d), computed by the general path itself
_FLOAT64_SCALAR = (lambda a: a.dtype.str.encode() + repr(a.shape).encode())(np.ascontiguousarray(np.asarray(0.0)))


def _canonical_bytes(value):
    """The bytes a digest sees for one dataset value: the same for what is written and what is read
    back (strings are compared as UTF-8 text, numbers with their dtype and shape)."""
    if isinstance(value, (str, bytes)):
        return b"s" + _utf8(value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else value)
    if type(value) is float or type(value) is np.float64:         # the commonest value: the bytes below, sooner
        return _FLOAT64_SCALAR + struct.pack("=d", value)
    a = np.asarray(value)
    if a.dtype.kind in "USO":
        items = [x.decode("utf-8", "surrogateescape") if isinstance(x, bytes) else str(x) for x in a.ravel()]
        return b"S" + repr(a.shape).encode() + _utf8("\x00".join(items))
    a = np.ascontiguousarray(a)
    return a.dtype.str.encode() + repr(a.shape).encode() + a.tobytes()


def content_digest(data, root_attrs=None):
    """SHA-256 over {path: Q}: every dataset's path, units, value and attributes, in path order, and
    the root attributes (all but `content_sha256` itself) when given.  Stored with each result (root
    attribute `content_sha256`; in sweeps the `digest` of each case record and of the summary)
    and checked by every reader, so a damaged or edited file is never trusted."""
    parts = []           # hashed in one call: the same bytes in the same order as update by update

    def add(tag, key, value):
        b = _canonical_bytes(value)
        parts.append(tag + _utf8(key) + b"\x00" + len(b).to_bytes(8, "little") + b)
    for path in sorted(data, key=lambda p: p.strip("/")):
        q = data[path]
        parts.append(b"d" + _utf8(path.strip("/")) + b"\x00" + _utf8(q.units) + b"\x00")
        add(b"v", "", q.value)
        for k in sorted(q.attrs):
            add(b"a", k, q.attrs[k])
    for k in sorted(root_attrs or {}):
        if k != "content_sha256":
            add(b"r", k, root_attrs[k])
    return hashlib.sha256(b"".join(parts)).hexdigest()


#: temporary files and locks of this process, removed by `terminate_handler` on SIGTERM
_PENDING = set()


#: SIGTERM arriving while a file is created and registered in _PENDING waits until both are done
_DEFERRED = {"depth": 0, "signum": None}


@contextmanager
def _registering():
    """Create a file and add it to _PENDING as one step as far as SIGTERM is concerned (the Python
    handler runs between bytecodes, so it could otherwise land between the two)."""
    _DEFERRED["depth"] += 1
    try:
        yield
    finally:
        _DEFERRED["depth"] -= 1
        if _DEFERRED["depth"] == 0 and _DEFERRED["signum"] is not None:
            terminate_handler(_DEFERRED["signum"], None)


def terminate_handler(signum, frame):
    """SIGTERM: remove this process's temporary result files and locks, then exit (128 + signum).
    Done in the handler itself: an exception raised from a signal handler can land in a finalizer
    (h5py closes objects through weakref callbacks) and be ignored there."""
    if _DEFERRED["depth"]:
        _DEFERRED["signum"] = signum
        return
    for p in list(_PENDING):
        try:
            os.unlink(p)
        except OSError:
            pass
    os._exit(128 + signum)


#: what an output may be called: sim writes HDF5 only, and a name saying otherwise (`-o out.txt`,
#: `-o case.toml`) is a mistake caught before the computation
OUTPUT_SUFFIXES = (".h5", ".hdf5")


def check_output_path(out_path, check_lock=True, inputs=()):
    """Refuse, before any computation, an output that cannot or must not be written: a name not ending
    in .h5 or .hdf5, a directory, a device, FIFO or other non-regular file (`-o /dev/null` must not be
    replaced), one of the run's own input files (`inputs`: the case file, a sweep file and its base),
    a folder under a file, or a read-only folder.  Returns the path."""
    out_path = Path(out_path)
    if out_path.exists() and not out_path.is_file():
        raise ResultFileError(f"{out_path}: exists and is not a regular file (a directory, device or FIFO); "
                              "give a file name")
    if out_path.suffix.lower() not in OUTPUT_SUFFIXES:
        raise ResultFileError(f"{out_path}: an output must be an HDF5 file ending in .h5 or .hdf5 "
                              f"({'not ' + repr(out_path.suffix) if out_path.suffix else 'it has no suffix'})")
    for inp in inputs:
        try:
            same = out_path.exists() and Path(inp).exists() and os.path.samefile(out_path, inp)
        except OSError:
            same = False
        if same:
            raise ResultFileError(f"{out_path}: is an input of this run ({inp}); choose another output")
    parent = out_path.parent
    for p in [parent, *parent.parents]:
        if p.exists():
            if not p.is_dir():
                raise ResultFileError(f"{out_path}: {p} is a file, not a folder")
            if not os.access(p, os.W_OK | os.X_OK):
                raise ResultFileError(f"{out_path}: the folder {p} is not writable")
            break
    if len(out_path.name.encode()) > 255:
        raise ResultFileError(f"{out_path}: file name longer than 255 bytes")
    holder = lock_holder(lock_path(out_path)) if check_lock else None
    if holder:
        raise OutputLocked(f"{out_path}: another sweep or run ({holder}) is writing this file; choose another output")
    return out_path


def write_atomically(out_path, build):
    """Write an HDF5 file to `out_path` so that a reader only ever sees the old or the new file.

    `build(h5file)` fills a new file in memory; the image is then written by
    `write_image_atomically`.  HDF5 never writes to the disk itself: a full disk or a file-size
    limit is one clean ResultFileError, and nothing at `out_path` changes (HDF5 failing inside a
    write to disk can crash the process at close).  Sweep files grow in an image of their own
    (`sim.studies.store.SweepImage`).
    """
    bio = io.BytesIO()
    try:
        with h5py.File(bio, "w", userblock_size=USERBLOCK_BYTES) as f:
            build(f)
    except OSError as e:
        if isinstance(e, ResultFileError):
            raise
        raise ResultFileError(f"{out_path}: could not write the result ({e.strerror or e}); "
                              "the previous file, if any, is unchanged") from None
    return write_image_atomically(out_path, bio.getbuffer())


def write_image_atomically(out_path, image):
    """Seal the HDF5 file image `image` (bytes of a file with sim's user block, see `seal`), write
    it to a temporary file beside `out_path` with plain file I/O, fsync it and rename it over
    `out_path` (os.replace): a reader only ever sees the old or the new file."""
    out_path = Path(out_path)
    with _registering():
        fd, tmp = tempfile.mkstemp(prefix=".sim-", suffix=".h5.tmp", dir=out_path.parent)   # short: long names stay valid
        os.close(fd)
        _PENDING.add(tmp)
    try:
        sealed = seal(image)
        with open(tmp, "wb") as fh:
            fh.write(sealed)
            fh.flush()
            os.fchmod(fh.fileno(), 0o666 & ~_umask())      # as open() would create it; mkstemp makes 0600
            os.fsync(fh.fileno())
        del sealed
        os.replace(tmp, out_path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError) and not isinstance(e, ResultFileError):
            raise ResultFileError(f"{out_path}: could not write the result ({e.strerror or e}); "
                                  "the previous file, if any, is unchanged") from None
        raise
    finally:
        _PENDING.discard(tmp)
    return out_path


def _umask():
    """The process's umask (read by setting it, so set back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def seal(image):
    """The file image with its user block set to SEAL_TAG + hex SHA-256 of the bytes after the block."""
    image = bytearray(image)
    if bytes(image[USERBLOCK_BYTES:USERBLOCK_BYTES + 8]) != b"\x89HDF\r\n\x1a\n":
        raise ResultFileError("internal: an HDF5 image without the 512-byte user block cannot be sealed")
    head = SEAL_TAG + hashlib.sha256(memoryview(image)[USERBLOCK_BYTES:]).hexdigest().encode() + b"\n"
    image[:USERBLOCK_BYTES] = head.ljust(USERBLOCK_BYTES, b"\0")
    return image


def seal_ok(image):
    """True if `image` (bytes) carries a seal and its bytes match it."""
    head = bytes(image[:USERBLOCK_BYTES])
    if not head.startswith(SEAL_TAG):
        return False
    stored = head[len(SEAL_TAG):len(SEAL_TAG) + 64]
    return hashlib.sha256(memoryview(image)[USERBLOCK_BYTES:]).hexdigest().encode() == stored


def read_sealed(path, what="result file"):
    """The bytes of a file written by sim, after checking its seal (see USERBLOCK_BYTES).  The file
    must be a regular file within sim.inputs.LIMITS["result"] (checked before a byte is read).
    Raises ResultFileError naming the file: missing, not a regular file, too large, not sealed, or damaged."""
    path = Path(path)
    image = inputs.read_bytes(path, "result", lambda why: ResultFileError(
        f"{path}: no such {what}" if why == "no such file" else f"{path}: {why}"))
    if not image.startswith(SEAL_TAG):
        if image[:8] == b"\x89HDF\r\n\x1a\n" or image[USERBLOCK_BYTES:USERBLOCK_BYTES + 8] == b"\x89HDF\r\n\x1a\n":
            raise ResultFileError(f"{path}: not a sim {what} of schema version {SCHEMA_VERSION} (it has no checksum "
                                  "block: written by another program or an older sim, or its first bytes are damaged)")
        raise ResultFileError(f"{path}: not a sim {what} (not an HDF5 file)")
    if not seal_ok(image):
        raise ResultFileError(f"{path}: its bytes do not match the checksum written with them (damaged or edited "
                              "outside sim); run it again")
    return image


def documents_nan(attrs):
    """True if a dataset's `nan_reason` (why it is NaN where it is), `meaning` or `note` says what NaN
    stands for in it."""
    return bool(attrs.get("nan_reason")) or any("nan" in str(attrs.get(k, "")).lower() for k in ("meaning", "note"))


def check_no_infinity_or_undocumented_nan(data, where):
    """No result holds ±inf: it is never a documented value; and NaN only where the dataset's
    `meaning` or `note` says what it stands for.  Raises ResultFileError naming the first offender."""
    for path, q in data.items():
        if isinstance(q.value, str):
            continue
        a = np.asarray(q.value)
        if a.dtype.kind not in "fc" or np.isfinite(a).all():          # one pass for the usual case
            continue
        if np.isinf(a).any():
            raise ResultFileError(f"{where}: the computation produced an infinite value in /{path.strip('/')} "
                                  f"({int(np.isinf(a).sum())} of {a.size}); nothing was written. Check the inputs "
                                  "for values near zero or overflow")
        if np.isnan(a).any() and not documents_nan(q.attrs):
            raise ResultFileError(f"{where}: the computation produced NaN in /{path.strip('/')} "
                                  f"({int(np.isnan(a).sum())} of {a.size}), which that dataset does not document; "
                                  "nothing was written. Check the inputs (this may be a bug in sim: please report it)")
    return data


def write_result(out_path, data, root_attrs):
    """Atomically write `data` ({path: Q}) and root attributes to `out_path` (see write_atomically),
    with the content digest of `data` as root attribute `content_sha256`."""
    out_path = check_output_path(out_path, check_lock=False)      # the caller holds the lock if any
    check_no_infinity_or_undocumented_nan(data, out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)

    data = with_long_names(data)

    def build(f):
        for k, v in root_attrs.items():
            f.attrs[k] = v
        f.attrs["content_sha256"] = content_digest(data, root_attrs)
        write_datasets(f, data)
    return write_atomically(out_path, build)


@dataclass
class Result:
    """A result file in memory: datasets as {path: Q}, and the root attributes."""
    path: Path
    attrs: dict
    data: dict

    def __getitem__(self, key):
        return self.data[key.lstrip("/")]

    def __contains__(self, key):
        return key.lstrip("/") in self.data

    def value(self, key):
        return self[key].value

    def groups(self, prefix):
        """Names of the direct children of group `prefix`."""
        prefix = prefix.strip("/") + "/"
        return sorted({k[len(prefix):].split("/")[0] for k in self.data if k.startswith(prefix)})

    @property
    def parameters(self):
        return self.json_attr("parameters_json", {})

    def json_attr(self, name, default=None):
        """A root attribute holding JSON, parsed (read_result has checked that it parses to its type)."""
        v = self.attrs.get(name)
        if v is None:
            return default
        return _parse_json_attr(name, v, self.path)


#: root attributes that hold JSON, and the type each must parse to (checked by read_result: a file with
#: garbage there is one clean error, never a JSONDecodeError from whoever reads it later)
JSON_ATTRS = {"parameters_json": dict, "overrides_json": list, "materials_json": dict, "warnings_json": list,
              "varied_keys": list}
#: root attributes that must be text
TEXT_ATTRS = ("case_text", "case_path", "kind", "study", "sweep_text", "sweep_path", "sweep_digest",
              "content_sha256", "created_utc", "sim_version", "git_commit")


def _parse_json_attr(name, value, where):
    want = JSON_ATTRS.get(name, object)
    if not isinstance(value, str):
        raise ResultFileError(f"{where}: root attribute '{name}' is not JSON text")
    try:
        parsed = json.loads(value)
    except (ValueError, RecursionError):
        raise ResultFileError(f"{where}: root attribute '{name}' is not valid JSON (damaged or edited)") from None
    if not isinstance(parsed, want):
        raise ResultFileError(f"{where}: root attribute '{name}' is not a JSON {want.__name__}")
    if name == "overrides_json" and not all(isinstance(o, list) and len(o) == 2 and isinstance(o[0], str)
                                            for o in parsed):
        raise ResultFileError(f"{where}: root attribute 'overrides_json' is not a list of [key, value] pairs")
    if name == "varied_keys" and not all(isinstance(k, str) for k in parsed):
        raise ResultFileError(f"{where}: root attribute 'varied_keys' is not a list of key paths")
    return parsed


def check_root_attrs(attrs, where):
    """Every JSON root attribute parses to its type and every text one is text (see JSON_ATTRS)."""
    for name, value in attrs.items():
        if name in JSON_ATTRS:
            _parse_json_attr(name, value, where)
        elif name in TEXT_ATTRS and not isinstance(value, str):
            raise ResultFileError(f"{where}: root attribute '{name}' is not text")


#: attributes that HDF5 dimension scales and netCDF-4 put on datasets: the file's layout, not sim's data
#: (not among a Q's attributes, nor in its digest; the `dims` attribute carries the same information)
LAYOUT_ATTRS = frozenset({"CLASS", "NAME", "DIMENSION_LIST", "REFERENCE_LIST", "_Netcdf4Dimid",
                          "_Netcdf4Coordinates", "_nc3_strict"})


def _datasets(group, where, max_bytes=None):
    """{path relative to group: h5py Dataset} and {group path: `digest` attribute} of everything below
    an open group, after checking its structure and before any dataset is read:
    - only hard links: a soft link (sim writes none) or an external link (into another file) is refused;
    - no dataset whose data live outside the file (external storage, a virtual layout), pass through a
      filter (sim never compresses) or, with `max_bytes` (the file's size), exceed the whole file (a
      dataset with unallocated storage reads as fill values of any size);
    - a dataset reached by a second name only under its declared alias (Q.alias), which is skipped.
    Raises ResultFileError naming the file and the dataset."""
    found, digests, links = {}, {}, []
    try:
        # every link with its type (raising inside HDF5's visit would break it: collected, then checked)
        group.id.links.visit(lambda name, info: links.append((name, info.type)), info=True)
        for raw, kind in links:
            try:
                name = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise ResultFileError(f"{where}: corrupt object name {raw[:40]!r}") from None
            if kind == h5l.TYPE_SOFT:
                raise ResultFileError(f"{where}: /{name} is a soft link (sim writes none): refused")
            if kind != h5l.TYPE_HARD:
                raise ResultFileError(f"{where}: /{name} links into another file: refused before reading")
            obj = group[name]
            if isinstance(obj, h5py.Dataset):
                found.setdefault(obj.id, (obj, []))[1].append(name)
            elif isinstance(obj, h5py.Group) and "digest" in obj.attrs:
                digests[name] = str(obj.attrs["digest"])
        out = {}
        for obj, names in found.values():
            dcpl = obj.id.get_create_plist()
            refuse = ("is a virtual dataset (its data live in other files)" if dcpl.get_layout() == h5d.VIRTUAL
                      else "uses external storage (its data live in another file)" if dcpl.get_external_count()
                      else "passes through an HDF5 filter (sim writes none)" if dcpl.get_nfilters() else "")
            if not refuse and max_bytes is not None and obj.size * obj.dtype.itemsize > max_bytes:
                refuse = f"declares {obj.size * obj.dtype.itemsize} bytes, more than the whole file"
            if refuse:
                raise ResultFileError(f"{where}: dataset /{names[0]} {refuse}: refused before reading")
            if len(names) > 1:
                alias = obj.attrs.get("alias")
                alias = alias.decode() if isinstance(alias, bytes) else alias
                rest = [n for n in names if n != alias]
                if len(rest) != 1:
                    raise ResultFileError(f"{where}: /{names[0]} and /{names[1]} are one dataset under two names, "
                                          "neither its declared alias (edited outside sim)")
                names = rest
            out[names[0]] = obj
    except ResultFileError:
        raise
    except (OSError, KeyError, RuntimeError, ValueError, TypeError, UnicodeDecodeError) as e:
        raise ResultFileError(f"{where}: corrupt or truncated ({e})") from None
    return out, digests


def open_image(image, where, structure=None):
    """An h5py File on the file image `image` (bytes whose seal the caller has checked), after
    checking its whole structure (see `_datasets`) before any dataset is read.  structure: a dict
    that receives what the check found (`read_datasets` of the whole file then need not walk it again)."""
    try:
        f = h5py.File(io.BytesIO(image), "r")
    except OSError as e:
        raise ResultFileError(f"{where}: not a readable HDF5 file ({e})") from None
    try:
        found = _datasets(f, where, max_bytes=len(image))
    except BaseException:
        f.close()
        raise
    if structure is not None:
        structure["found"] = found
    return f


def read_datasets(group, where, structure=None):
    """{relative path: Q} of every dataset under an open h5py group (each read once, under its own
    name: an alias is skipped), and {group path: digest attribute} of the groups below it that carry
    one.  `where` names the file in errors; structure: what open_image found for this (root) group."""
    data = {}
    found, digests = structure["found"] if structure else _datasets(group, where)
    try:
        for name, obj in sorted(found.items()):
            names = [k for k in obj.attrs.keys() if k not in LAYOUT_ATTRS]
            if "units" not in names:
                raise ResultFileError(f"{where}: dataset /{name} has no 'units' attribute")
            v = obj[()]
            if isinstance(v, bytes):
                v = v.decode()
            elif isinstance(v, np.ndarray) and v.dtype.kind == "O":
                items = [x.decode() if isinstance(x, bytes) else x for x in v.ravel()]
                if any(isinstance(x, np.ndarray) for x in items):     # rows of a sweep column (sim.columns)
                    v = np.empty(len(items), dtype=object)
                    v[:] = items
                else:
                    v = np.array(items).reshape(v.shape)
            extra = {k: obj.attrs[k] for k in names if k != "units"}
            data[name] = Q(v, str(obj.attrs["units"]), extra)
    except ResultFileError:
        raise
    except (OSError, KeyError, RuntimeError, ValueError, TypeError, UnicodeDecodeError) as e:
        raise ResultFileError(f"{where}: corrupt or truncated ({e})") from None
    return data, digests


def verify(data, digests, where, stored=None, root_attrs=None):
    """Check a file's datasets (and root attributes) against the digests written with them (the root
    `content_sha256`, or the `digest` of groups that carry one, such as a sweep's summary)."""
    damaged = "its datasets do not match the digest written with them (damaged or edited); run it again"
    if stored is not None:
        if content_digest(data, root_attrs) != stored:
            raise ResultFileError(f"{where}: {damaged}")
        return
    for g, d in digests.items():
        part = {k[len(g) + 1:]: q for k, q in data.items() if k.startswith(g + "/")}
        if content_digest(part) != d:
            raise ResultFileError(f"{where}: /{g}: {damaged}")


def root_attrs(f, where):
    """The root attributes of an open file, text decoded."""
    try:
        return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
    except (OSError, KeyError, RuntimeError, ValueError, TypeError, UnicodeDecodeError) as e:
        raise ResultFileError(f"{where}: corrupt root attributes ({e})") from None


def sweep_digest(records, summary_digest, attrs):
    """The root `content_sha256` of a sweep file: SHA-256 over its case records (status, parameters,
    paths and digest of every case; `records`: their texts, "" for a case not written), the summary's
    own digest and the root attributes (case and sweep text, varied keys, ...).  With each case's
    digest in its record, it covers every byte a reader trusts."""
    recs = np.asarray([] if records is None else records, dtype=str)
    return content_digest({"case_records": Q(recs, ""), "summary": Q(str(summary_digest), "")}, attrs)


def stored_records(f):
    """The case-record texts of an open sweep file as written (None if it has none yet)."""
    if columns.RECORDS not in f:
        return None
    return [r.decode("utf-8", "surrogateescape") if isinstance(r, bytes) else str(r) for r in f[columns.RECORDS][()]]


def verify_sweep(f, attrs, where, summary=None):
    """Check the digests of an open sweep file that do not need its case rows: the summary's, and the
    root one over the records, the summary digest and the root attributes (see sweep_digest), and that
    every case the summary marks ok has a record that says so.  summary: its {column: Q} if already
    read.  Returns the parsed records."""
    try:
        stored_summary = f["summary"].attrs.get("digest") if "summary" in f else None
    except (OSError, KeyError, RuntimeError, ValueError) as e:
        raise ResultFileError(f"{where}: corrupt sweep summary ({e})") from None
    if stored_summary is None:
        raise ResultFileError(f"{where}: /summary has no digest (written by an older sim or edited); run the sweep again")
    if summary is None:
        summary, _ = read_datasets(f["summary"], where)
    if content_digest(summary) != str(stored_summary):
        raise ResultFileError(f"{where}: the sweep summary does not match the digest written with it (damaged, "
                              "edited or written by an older sim); run `sim sweep --resume` to repair it")
    if "content_sha256" not in attrs:
        raise ResultFileError(f"{where}: has no content digest (written by an older sim or edited); run "
                              "`sim sweep --resume` to repair it")
    try:
        texts = stored_records(f)
    except (OSError, KeyError, RuntimeError, ValueError, TypeError) as e:
        raise ResultFileError(f"{where}: unreadable case records ({str(e)[:80]})") from None
    if sweep_digest(texts, stored_summary, attrs) != attrs["content_sha256"]:
        raise ResultFileError(f"{where}: its case records or root attributes do not match the digest written "
                              "with them (damaged or edited); run `sim sweep --resume` to repair it")
    check_root_attrs(attrs, where)
    try:
        recs = [json.loads(t) if t else None for t in texts or []]
    except (ValueError, RecursionError):
        raise ResultFileError(f"{where}: a case record is not valid JSON (damaged or edited)") from None
    if not all(r is None or isinstance(r, dict) for r in recs):
        raise ResultFileError(f"{where}: a case record is not a JSON object (damaged or edited)")
    ids, status = summary.get("case_id"), summary.get("status")
    if ids is not None and status is not None:
        for i, s in zip(np.asarray(ids.value).ravel().tolist(), np.asarray(status.value).ravel().tolist()):
            rec = recs[i] if isinstance(i, int) and 0 <= i < len(recs) else None
            if s == "ok" and (rec is None or rec.get("status") != "ok"):
                raise ResultFileError(f"{where}: case {i}: the summary says ok but its record is missing or says "
                                      "otherwise (damaged or edited); run `sim sweep --resume` to repair it")
    return recs


def read_result(path):
    """Read a result or sweep file and verify its digests.  Raises ResultFileError naming the file and
    what is wrong.  The file's seal is checked before HDF5 parses it, its structure (links, storage of
    every dataset) before any dataset is read, and every digest before anything is returned."""
    path = Path(path)
    image = read_sealed(path)
    structure = {}
    with open_image(image, path, structure) as f:
        attrs = root_attrs(f, path)
        if "schema_version" not in attrs:
            raise ResultFileError(f"{path}: not a sim result file (root attribute 'schema_version' is missing)")
        try:
            version = int(attrs["schema_version"])
        except (TypeError, ValueError):
            version = None
        if version != SCHEMA_VERSION:
            raise ResultFileError(f"{path}: schema version {attrs['schema_version']} is not supported "
                                  f"(this sim reads version {SCHEMA_VERSION})")
        if attrs.get("study") == "sweep":
            data, _ = read_datasets(f, path, structure)
            verify_sweep(f, attrs, path, {k[8:]: q for k, q in data.items() if k.startswith("summary/")})
            for i, row in case_rows(f, path, status="ok"):
                if content_digest(row[1]) != row[0].get("digest"):
                    raise ResultFileError(f"{path}: case {i}: its rows do not match the digest written with them "
                                          "(damaged or edited); run `sim sweep --resume` to repair it")
            return Result(path, attrs, data)
        data, _ = read_datasets(f, path, structure)
    if "content_sha256" not in attrs:
        raise ResultFileError(f"{path}: has no content digest (written by an older sim or edited); run it again")
    verify(data, {}, path, stored=str(attrs["content_sha256"]), root_attrs=attrs)
    check_root_attrs(attrs, path)
    return Result(path, attrs, data)


def case_rows(f, where, status=None):
    """[(case id, (record, {path: Q}))] of the cases of an open sweep file (see sim.columns), those
    with `status` only if given.  Rows that cannot be read are a ResultFileError naming the file."""
    try:
        recs = columns.records(f)
        ids = [i for i, r in enumerate(recs) if r is not None and (status is None or r.get("status") == status)]
        rows = columns.read_rows(f, ids)
    except (OSError, KeyError, RuntimeError, ValueError, TypeError, AttributeError) as e:
        raise ResultFileError(f"{where}: unreadable case rows ({str(e)[:80]})") from None
    return [(i, (rec, {p: Q(v, u, a) for p, (v, u, a) in row.items()})) for i, (rec, row) in rows.items()]


class OutputLocked(SimError):
    pass


class Lock:
    """Exclusive lock file beside an output (sweeps and single runs share it); stale locks of dead
    processes are taken over, an empty lock file only once it is old."""

    def __init__(self, out_path):
        self.path = lock_path(out_path)

    def __enter__(self):
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ResultFileError(f"{self.path.parent}: cannot create the output folder ({e.strerror})") from None
        for _ in range(2):
            try:
                with _registering():
                    fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                    _PENDING.add(str(self.path))
                os.write(fd, str(os.getpid()).encode())
                os.close(fd)
                return self
            except FileExistsError:
                holder = lock_holder(self.path)
                if holder:
                    raise OutputLocked(f"{self.path.with_suffix('')}: another sweep or run ({holder}) is writing "
                                       f"this file; wait for it or remove {self.path} if it is gone") from None
                self.path.unlink(missing_ok=True)       # stale: its process is gone
            except OSError as e:
                raise ResultFileError(f"{self.path}: cannot create the lock file ({e.strerror})") from None
        raise OutputLocked(f"{self.path}: could not take the lock")

    def __exit__(self, *exc):
        _PENDING.discard(str(self.path))
        self.path.unlink(missing_ok=True)


def lock_path(out_path):
    """The lock file of an output: `<out>.lock`, or a short hashed name when that would exceed the
    255-byte file-name limit."""
    out_path = Path(out_path)
    name = out_path.name + ".lock"
    if len(name.encode()) > 255:
        import hashlib
        name = "." + hashlib.sha1(out_path.name.encode()).hexdigest()[:16] + ".lock"
    return out_path.parent / name


def lock_holder(path, young_s=10.0):
    """Who else holds a lock file: 'process <pid>' if that process lives, 'a writer starting up' for an
    empty lock file younger than young_s (its pid is not written yet), else None (stale).  Something
    other than a small regular file where the lock goes (a directory, a FIFO, a large file) is never
    taken over: OutputLocked asks to remove it."""
    path = Path(path)
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        raise OutputLocked(f"{path}: {inputs._kind(st.st_mode)} stands where the lock file goes; remove it")
    try:
        text = inputs.read_bytes(path, "lock").decode("utf-8", "replace").strip()
        age = _time.time() - st.st_mtime
    except SimError as e:
        if not path.exists():
            return None                         # released meanwhile
        raise OutputLocked(f"{path}: not a lock file written by sim ({str(e).split(': ', 1)[-1]}); remove it") from None
    if not text:
        return "a writer starting up" if age < young_s else None
    try:
        pid = int(text)
    except ValueError:
        return None
    return f"process {pid}" if _alive(pid) else None


def _alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
