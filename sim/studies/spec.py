"""Sweep files: a base case, the parameters to vary (dotted key paths) and a design.

    base = "lco_lps.toml"                 # relative to the sweep file
    [design]
    kind = "grid"                         # grid | zip | lhs
    samples = 20                          # lhs only
    seed = 1                              # lhs only
    [parameters."layers.sse.thickness_m"]
    range = [5e-9, 50e-9]                 # or values = [...]
    points = 4                            # with range
    scale = "log"                         # linear | log

Every generated case is validated before anything runs; a bad key fails the whole sweep.
"""
from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sim.case import parse_case_text, read_case_text, validate_document
from sim.errors import CaseError
from sim.schema import Field, Table, TableMap
from sim.schema import field_of
from sim.kinds import REGISTRY
from sim.kinds import schema as kind_schema
from sim.case import apply_overrides

PARAMETER = Table({
    "values": Field(("list", float), "explicit values", default=None, min_length=1),
    "range": Field(("list", float), "start and stop", default=None, length=2),
    "points": Field(int, "values in the range (grid and zip designs)", default=5, low=1, high=100000),
    "scale": Field(str, "spacing of the range", default="linear", choices=("linear", "log")),
}, "one varied parameter: `values`, or `range` with `points` and `scale`")

SWEEP_SCHEMA = Table({
    "base": Field(str, "base case file, relative to the sweep file"),
    "title": Field(str, "free text", default=""),
    "design": Table({
        "kind": Field(str, "full grid, zipped lists, or Latin hypercube", default="grid",
                      choices=("grid", "zip", "lhs")),
        "samples": Field(int, "Latin hypercube samples", default=10, low=1, high=1000000),
        "seed": Field(int, "Latin hypercube seed", default=0, low=0),
    }, "how parameter values combine", optional=True),
    "parameters": TableMap(PARAMETER, "varied parameters by dotted key path into the base case, e.g. "
                           "`[parameters.\"layers.sse.thickness_m\"]`", min_entries=1, max_entries=32),
    "plot": Field(("list", str), "summary columns to plot (default: the first few scalar observables)",
                  default=None),
})

MAX_CASES = 1_000_000


@dataclass
class Sweep:
    path: Path
    text: str
    spec: dict
    base_doc: dict
    base_path: Path
    keys: list                  # varied dotted paths
    values: np.ndarray          # (n_cases, n_keys)
    #: {case id: (doc, kind, params)} of the cases validated up front, until a run takes them
    #: (`take_validated`): every executor sends the validated doc; a serial run also uses its params
    #: (validating a case costs about a tenth of its solve; other executors validate in the worker)
    validated: dict = field(default_factory=dict, repr=False, compare=False)
    #: result paths each case stores in the sweep file (with their coordinates and every scalar), or None
    #: for all of them: a study that needs a few outputs of thousands of cases (sim.kinds.uncertainty)
    #: keeps profiles out of a file that every flush rewrites whole
    keep: tuple | None = None

    def take_validated(self, i):
        """(doc, (kind, params) or None) of case i: the up-front validation's, once; else a new doc."""
        if i in self.validated:
            doc, kind, params = self.validated.pop(i)
            return doc, (kind, params)
        return self.case_doc(i), None

    @property
    def n(self):
        return len(self.values)

    def digest(self):
        """Identity of the generated case list (for --resume)."""
        h = hashlib.sha256(json.dumps(self.base_doc, sort_keys=True, default=str).encode())
        h.update(json.dumps(self.keys).encode())
        h.update(np.ascontiguousarray(self.values).tobytes())
        if self.keep is not None:             # other rows are stored: another file (older digests unchanged)
            h.update(json.dumps(sorted(self.keep)).encode())
        return h.hexdigest()

    def case_doc(self, i):
        name = self.base_doc.get("kind")
        schema = kind_schema(name)[0] if name in REGISTRY else None
        doc = copy.deepcopy(self.base_doc)
        for key, v in zip(self.keys, self.values[i]):
            f = field_of(schema, key) if schema else None
            value = int(round(v)) if (f is not None and f.type is int) else float(v)
            set_path(doc, key, value)
        return doc


def set_path(doc, dotted, value):
    """Set doc[a][b][c] = value for 'a.b.c', creating tables as needed."""
    parts = dotted.split(".")
    node = doc
    for p in parts[:-1]:
        nxt = node.get(p)
        if nxt is None:
            nxt = node[p] = {}
        if not isinstance(nxt, dict):
            raise KeyError(dotted)
        node = nxt
    node[parts[-1]] = value


def _axis(spec, key, file):
    if (spec.get("values") is None) == (spec.get("range") is None):
        raise CaseError(file, f"parameters.{key}", spec, "give exactly one of `values` and `range`")
    if spec.get("values") is not None:
        return np.array(spec["values"], float)
    a, b = spec["range"]
    if spec["scale"] == "log":
        if a <= 0 or b <= 0:
            raise CaseError(file, f"parameters.{key}.range", spec["range"], "a log range needs positive ends")
        return np.geomspace(a, b, spec["points"])
    return np.linspace(a, b, spec["points"])


def design_values(spec, file):
    keys = list(spec["parameters"])
    d = spec["design"]
    if d["kind"] == "lhs":
        rng = np.random.default_rng(d["seed"])
        n = d["samples"]
        cols = []
        for key in keys:
            ps = spec["parameters"][key]
            if ps.get("range") is None:
                raise CaseError(file, f"parameters.{key}.range", None, "a Latin hypercube needs a range")
            u = (rng.permutation(n) + rng.uniform(size=n)) / n
            a, b = ps["range"]
            cols.append(np.exp(np.log(a) + u * (np.log(b) - np.log(a))) if ps["scale"] == "log" else a + u * (b - a))
        return keys, np.column_stack(cols)
    axes = [_axis(spec["parameters"][k], k, file) for k in keys]
    if d["kind"] == "zip":
        lengths = {len(a) for a in axes}
        if len(lengths) != 1:
            raise CaseError(file, "parameters", [len(a) for a in axes], "zipped parameters need equal lengths")
        return keys, np.column_stack(axes)
    total = int(np.prod([len(a) for a in axes], dtype=float))
    if total > MAX_CASES:
        raise CaseError(file, "parameters", total, f"a grid of more than {MAX_CASES} cases is refused")
    mesh = np.meshgrid(*axes, indexing="ij")
    return keys, np.column_stack([m.ravel() for m in mesh])


def load_sweep(path, overrides=None):
    """Read and validate a sweep file and every case it generates; `overrides` [(dotted key,
    value)] (`sim sweep --set`) apply to the base case before the swept values."""
    path = Path(path)
    text = read_case_text(path)
    spec = SWEEP_SCHEMA.validate(parse_case_text(text, path), path)
    base_path = (path.parent / spec["base"]).resolve()
    if not base_path.exists():
        raise CaseError(path, "base", spec["base"], f"no such case file ({base_path})")
    base_doc = apply_overrides(parse_case_text(read_case_text(base_path), base_path), overrides, f"{path} (--set)")
    keys, values = design_values(spec, path)
    sweep = Sweep(path, text, spec, base_doc, base_path, keys, values)
    validate_cases(sweep)
    return sweep


#: sweeps of up to this many cases are validated case by case before anything runs; larger ones
#: through a bounded sample (see cases_to_validate), so that validation never costs minutes
VALIDATE_ALL_UP_TO = 2000


def cases_to_validate(sweep):
    """Indices of the generated cases validated up front: all of them up to VALIDATE_ALL_UP_TO;
    beyond, the first and last case, the cases holding each swept key's smallest and largest
    value, and a fixed random sample up to VALIDATE_ALL_UP_TO in all.  A case outside the sample
    that is still invalid fails when it runs and is recorded as failed; the sweep goes on."""
    n = sweep.n
    if n <= VALIDATE_ALL_UP_TO:
        return list(range(n))
    picked = {0, n - 1}
    for j in range(len(sweep.keys)):
        col = sweep.values[:, j]
        picked.update((int(np.argmin(col)), int(np.argmax(col))))
    rest = np.random.default_rng(0).choice(n, size=VALIDATE_ALL_UP_TO, replace=False)
    for i in rest.tolist():
        if len(picked) >= VALIDATE_ALL_UP_TO:
            break
        picked.add(int(i))
    return sorted(picked)


def validate_cases(sweep):
    """Validate the generated cases (all, or a bounded sample of a very large sweep: see
    cases_to_validate); the first failure names the sweep file and the key.  An unknown key that a
    swept key path introduced is reported as a typo of that path."""
    for i in cases_to_validate(sweep):
        try:
            doc = sweep.case_doc(i)
            kind, params = validate_document(doc, str(sweep.base_path.parent / f"{sweep.path.name} (case {i})"))
            sweep.validated[i] = (doc, kind, params)
        except KeyError as e:
            raise CaseError(sweep.path, f"parameters.{e.args[0]}", None,
                            "the key path goes through a value that is not a table") from None
        except CaseError as e:
            swept = [k for k in sweep.keys if k == e.key or k.startswith(f"{e.key}.")]
            if swept and "unknown key" in e.reason:
                raise CaseError(sweep.path, f'parameters."{swept[0]}"', None,
                                f"the swept key path does not exist in the case: {e.key!r} is an {e.reason}") from None
            raise
