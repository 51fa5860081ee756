"""Schema of `kind = "uncertainty"` cases: input distributions propagated through other cases.

Everything is checked before anything runs: the cases exist and validate (with `[fixed]` applied); every
input key is a number key of each case's schema that applies to at least one case; its distribution is
known, complete and lies inside the key's limits; outputs, thresholds and quantile probabilities are
well formed.  Whether an output exists in a case's result is checked on the case's nominal run, before the
samples (sim.kinds.uncertainty.runner).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sim.errors import CaseError
from sim.kinds.common import KIND, TITLE
from sim.kinds.uncertainty.analysis import TRANSFORMS
from sim.kinds.uncertainty.design import DISTRIBUTIONS, METHODS, PARAMETERS, UNBOUNDED, Distribution
from sim.schema import MAX_ARRAY_LENGTH, Field, FieldMap, Table, TableMap, field_of, suggest

MAX_INPUTS = 64
MAX_CASES = 8
MAX_OUTPUTS = 32
MAX_RUNS = 1_000_000
EXECUTORS = ("auto", "serial", "processes", "dask")


class AnyValue(Field):
    """A case value of any TOML type but a table (what `--set` takes): checked by validating the case it
    is set in."""

    def validate(self, v, file, key):
        if isinstance(v, dict):
            raise CaseError(file, key, v, "expected a value, not a table (write the whole dotted key)")
        if isinstance(v, list) and len(v) > MAX_ARRAY_LENGTH:
            raise CaseError(file, key, f"{len(v)} values", f"at most {MAX_ARRAY_LENGTH} values allowed")
        return v

    def type_name(self):
        return "any value"


INPUT = Table({
    "distribution": Field(str, "distribution of the input (default: the materials database's scale for a "
                          "`materials.<name>.<property>` key: uniform, or loguniform for a log range)", default=None,
                          choices=tuple(DISTRIBUTIONS)),
    "low": Field(float, "lower bound (uniform, loguniform, truncated_normal, triangular; default for a "
                 "`materials.<name>.<property>` key: the database range)", default=None),
    "high": Field(float, "upper bound (as `low`)", default=None),
    "mean": Field(float, "mean (normal, truncated_normal: of the untruncated normal)", default=None),
    "sd": Field(float, "standard deviation (normal, truncated_normal)", default=None, low=0.0, low_open=True),
    "median": Field(float, "median (lognormal)", default=None, low=0.0, low_open=True),
    "sd_ln": Field(float, "standard deviation of ln x (lognormal; at most 10: e^10 per sd is already over four decades)",
                   default=None, low=0.0, low_open=True, high=10.0),
    "peak": Field(float, "most likely value (triangular; low <= peak < high)", default=None),
}, "one uncertain input, in the unit of its case key (the key's name says it: `_S_cm`, `_eV`, ...)")

SCHEMA = Table({
    "kind": KIND,
    "title": TITLE,
    "case": Field(str, "the case file whose results are propagated, relative to this file (give `case` or "
                  "`cases`)", default=None),
    "cases": Field(("list", str), "several case files run on the same samples (paired: e.g. a stack with and "
                   "without a buffer); `outputs` common to all of them are also compared, case by case "
                   "against the first", default=None, min_length=1, max_length=MAX_CASES),
    "method": Field(str, "sobol: first-order and total Sobol' indices from Saltelli's design, N (d + 2) runs "
                    "per case; morris: elementary effects (mu*, sigma) of N trajectories, N (d + 1) runs",
                    default="sobol", choices=METHODS),
    "samples": Field(int, "N: base samples (sobol: a power of 2) or Morris trajectories", default=64,
                     low=2, high=MAX_RUNS),
    "levels": Field(int, "morris: grid levels per input (even)", default=4, low=2, high=100),
    "seed": Field(int, "seed of the sample design and the bootstraps (the same seed gives the same samples)",
                  default=1, low=0, high=2**31 - 1),
    "outputs": Field(("list", str), "HDF5 paths of results of every case (scalars, or 1-D along a sweep, "
                     "e.g. pnp/sweep/observables/total_interfacial_resistance)", min_length=1,
                     max_length=MAX_OUTPUTS),
    "case_outputs": FieldMap(Field(("list", str), "output paths", min_length=1, max_length=MAX_OUTPUTS),
                             "outputs of one case only, by the case file's name without `.toml` (e.g. the "
                             "electrolyte side of an interface that has another index in each stack)", default={}),
    "quantile_probabilities": Field(("list", float), "probabilities of the stored quantiles",
                                    default=[0.05, 0.25, 0.5, 0.75, 0.95], min_length=1, max_length=99,
                                    low=0.0, high=1.0, low_open=True, high_open=True),
    "thresholds": FieldMap(Field(("list", float), "thresholds", min_length=1, max_length=50),
                           "thresholds by output path, in the output's unit (its `units` attribute): the "
                           "probabilities that the output lies below and above each are stored", default={}),
    "transforms": FieldMap(Field(str, "transform", choices=TRANSFORMS), "the indices of an output computed of a "
                           "transform of it, by output path: none, log10 (positive outputs over decades; Y <= 0 left "
                           "out), rank (its rank among the runs: any sign, heavy tails); quantiles and probabilities "
                           "stay those of the output itself", default={}),
    "fixed": FieldMap(AnyValue(float, "value"), "values set in every case before the inputs, by dotted key as "
                      "`--set` takes them (e.g. a coarser mesh or fewer sweep points for the study)", default={}),
    "inputs": TableMap(INPUT, "uncertain inputs by dotted case key, as sweeps and `--set` name them: "
                       "`[inputs.\"materials.LPS.conductivity_S_cm\"]`", min_entries=1, max_entries=MAX_INPUTS),
    "execution": Table({
        "executor": Field(str, "where the samples run (as `sim sweep --executor`)", default="auto", choices=EXECUTORS),
        "jobs": Field(int, "workers (default: all cores)", default=None, low=1, high=4096),
        "scheduler": Field(str, "address of a running Dask scheduler", default=None),
        "flush_interval_s": Field(float, "longest time between writes of the samples file (a kill loses at "
                                  "most this much computing)", default=5.0, low=0.0, high=3600.0),
    }, "how the samples run; not part of what is computed (a study resumes under any executor)", optional=True),
})

#: names that become HDF5 group names
LABEL = re.compile(r"[A-Za-z0-9_+\-]{1,64}")
PATH = re.compile(r"[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*")


@dataclass(frozen=True)
class Input:
    """A resolved input: dotted key, distribution, unit (case-file unit of the key) and where its bounds
    came from ("case" or "materials database")."""
    key: str
    distribution: Distribution
    unit: str
    source: str


@dataclass(frozen=True)
class BaseCase:
    """A case the study runs: label (its file name without .toml), path, text and document (with [fixed])."""
    label: str
    path: Path
    text: str
    doc: dict
    kind: str


def base_cases(params, file):
    """The cases of the study, read, with [fixed] applied and validated (CaseError naming this file)."""
    from sim.case import apply_overrides, parse_case_text, read_case_text, validate_document
    if (params.get("case") is None) == (params.get("cases") is None):
        raise CaseError(file, "case", params.get("case"), "give exactly one of `case` and `cases`")
    names = [params["case"]] if params.get("case") is not None else params["cases"]
    where = "case" if params.get("case") is not None else "cases"
    base = Path(str(file)).parent if file else Path(".")
    out = []
    for i, rel in enumerate(names):
        key = where if where == "case" else f"cases[{i}]"
        path = base / rel
        if not path.is_file():
            raise CaseError(file, key, rel, f"no such case file ({path})")
        text = read_case_text(path)
        doc = parse_case_text(text, path)
        if not isinstance(doc, dict) or "kind" not in doc:
            raise CaseError(file, key, rel, "not a case file (a sweep file? give its base case)")
        if doc.get("kind") == "uncertainty":
            raise CaseError(file, key, rel, "an uncertainty case cannot propagate another uncertainty case")
        label = path.name.removesuffix(".toml")
        if not LABEL.fullmatch(label):
            raise CaseError(file, key, rel, "the file name (without .toml) names its results: use letters, "
                            "digits, _ + - (at most 64)")
        if label in [c.label for c in out]:
            raise CaseError(file, key, rel, f"two cases named {label!r}: their results would share a group")
        fixed = list(params["fixed"].items())
        for k, _ in fixed:
            if k in params["inputs"]:
                raise CaseError(file, f"fixed.{k}", params["fixed"][k], "is also an uncertain input: give it in one place")
        try:
            doc = apply_overrides(doc, fixed, f"{file} (fixed)")
            kind, _ = validate_document(doc, f"{path} with [fixed] of {file}")
        except CaseError as e:
            raise CaseError(file, f"fixed.{e.key}" if _fixed_key(e.key, fixed) else key, e.value,
                            f"{e.reason} (in {rel})") from None
        out.append(BaseCase(label, path.resolve(), text, doc, kind))
    return out


def _fixed_key(key, fixed):
    return any(key == k or key.startswith(f"{k}.") or k.startswith(f"{key}.") for k, _ in fixed)


def applies(key, case):
    """Whether the dotted key reaches a value in the case: every user-named table on its path (a layer, a
    species) exists in the case, and a material under `materials` is one the case uses (names as a value
    outside `materials`: a layer's material, a marker): overriding another is legal but has no effect."""
    from sim.kinds import schema as kind_schema
    node, doc = kind_schema(case.kind)[0], case.doc
    parts = key.split(".")
    if parts[0] == "materials" and len(parts) > 1 and parts[1] not in _named_values(
            {k: v for k, v in case.doc.items() if k != "materials"}):
        return False
    for part in parts[:-1]:
        if isinstance(node, TableMap):
            if not (isinstance(doc, dict) and part in doc):
                return parts[0] == "materials"          # a database material the case uses without overriding it
            node, doc = node.item, doc[part]
            continue
        if not isinstance(node, Table) or part not in node.fields:
            return False
        node, doc = node.fields[part], (doc.get(part, {}) if isinstance(doc, dict) else {})
    return True


def _named_values(doc):
    """Every string value of a parsed case (tables and arrays walked)."""
    if isinstance(doc, str):
        return {doc}
    if isinstance(doc, dict):
        return set().union(*(_named_values(v) for v in doc.values()))
    if isinstance(doc, list):
        return set().union(*(_named_values(v) for v in doc))
    return set()


def database_range(key):
    """(low, high, scale) in the key's unit of a `materials.<name>.<property>` key whose property has a
    range in the materials database, else None."""
    from sim.case import override_key
    from sim.materials import material_names, material_ranges, material_record
    from sim.units import UNIT_TO_SI
    parts = key.split(".")
    if len(parts) != 3 or parts[0] != "materials" or parts[1] not in material_names():
        return None
    record = material_record(parts[1])
    for prop, rng in material_ranges(parts[1]).items():
        unit = record[prop]["unit"]
        if override_key(prop, unit) == parts[2]:
            factor = UNIT_TO_SI[unit][0]          # back to the file's unit, without the round trip's last bit
            return float(f"{rng.low / factor:.15g}"), float(f"{rng.high / factor:.15g}"), rng.scale
    return None


def resolve_inputs(params, cases, file):
    """[Input] of the study, every input checked against every case (CaseError naming this file)."""
    from sim.kinds import schema as kind_schema
    out = []
    for key, spec in params["inputs"].items():
        where = f'inputs."{key}"'
        fields = []
        for case in cases:
            f = field_of(kind_schema(case.kind)[0], key)
            if f is None:
                raise CaseError(file, where, None, f"not a key of the {case.kind} case {case.label}.toml"
                                + _did_you_mean(key, case))
            if f.type is not float:
                raise CaseError(file, where, None, f"an uncertain input must be a number key; this one is "
                                f"{f.type_name()}")
            fields.append(f)
        if not any(applies(key, c) for c in cases):
            raise CaseError(file, where, None, "reaches no value in " + ", ".join(f"{c.label}.toml" for c in cases)
                            + " (no layer, species or material on its path is in the case)")
        dist, source = _distribution(key, spec, file, where, params["method"])
        field = fields[0]
        lo, hi = dist.support()
        for f in fields:
            reason = _outside(f, lo, hi)
            if reason:
                hint = " (a normal distribution reaches +-6 sd: use truncated_normal)" if dist.name in UNBOUNDED else ""
                raise CaseError(file, where, [lo, hi], reason + hint)
        out.append(Input(key, dist, field.unit, source))
    return out


def _did_you_mean(key, case):
    from sim.api import close_keys
    from sim.kinds import schema as kind_schema
    keys = []

    def walk(node, prefix):
        if isinstance(node, TableMap):
            walk(node.item, prefix + "<name>.")
        elif isinstance(node, Table):
            for k, v in node.fields.items():
                walk(v, f"{prefix}{k}.")
        elif isinstance(node, Field):
            keys.append(prefix[:-1])
    walk(kind_schema(case.kind)[0], "")
    generic = ".".join("<name>" if i and key.split(".")[i - 1] in ("materials", "layers", "species") else p
                       for i, p in enumerate(key.split(".")))
    close = close_keys(generic, keys)
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""


def _outside(f, lo, hi):
    """Why [lo, hi] leaves the field's limits, or ''."""
    unit = f" {f.unit}" if f.unit else ""
    if f.low is not None and (lo < f.low or (f.low_open and lo <= f.low)):
        return f"the distribution reaches {lo:g}{unit}; the key must be {'>' if f.low_open else '>='} {f.low:g}{unit}"
    if f.high is not None and (hi > f.high or (f.high_open and hi >= f.high)):
        return f"the distribution reaches {hi:g}{unit}; the key must be {'<' if f.high_open else '<='} {f.high:g}{unit}"
    return ""


def _distribution(key, spec, file, where, method):
    """(Distribution, source of its bounds) of one input: the case's values, completed from the materials
    database's range for a materials key."""
    given = {k: spec[k] for k in PARAMETERS if spec.get(k) is not None}
    name = spec.get("distribution")
    db = database_range(key)
    source = "case"
    if name is None:
        if db is None:
            raise CaseError(file, f"{where}.distribution", None, "required: only `materials.<name>.<property>` "
                            "keys with a range in the materials database have a default")
        name = "loguniform" if db[2] == "log" else "uniform"
    needed = DISTRIBUTIONS[name][0]
    for k in given:
        if k not in needed:
            raise CaseError(file, f"{where}.{k}", given[k], f"not a parameter of {name} (it takes "
                            f"{', '.join(needed)})")
    if "low" in needed and "low" not in given and "high" not in given and db is not None:
        given.update(low=db[0], high=db[1])
        source = "materials database"
    for k in needed:
        if k not in given:
            raise CaseError(file, f"{where}.{k}", None, f"required by {name}"
                            + (" (no database range: this is not a materials.<name>.<property> key with a range)"
                               if k in ("low", "high") and db is None else ""))
    if "low" in needed and not given["low"] < given["high"]:
        raise CaseError(file, f"{where}.high", given["high"], f"must exceed low = {given['low']:g}")
    if name == "loguniform" and given["low"] <= 0:
        raise CaseError(file, f"{where}.low", given["low"], "a log-uniform distribution needs low > 0")
    if name == "triangular" and not given["low"] <= given["peak"] < given["high"]:
        raise CaseError(file, f"{where}.peak", given["peak"], "must lie in [low, high)")
    if name == "truncated_normal" and not given["low"] <= given["mean"] <= given["high"]:
        raise CaseError(file, f"{where}.mean", given["mean"], "must lie in [low, high]")
    if method == "morris" and name in UNBOUNDED:
        raise CaseError(file, f"{where}.distribution", name, "Morris trajectories visit the ends of every range "
                        "(quantiles 0 and 1): use a bounded distribution (e.g. truncated_normal)")
    return Distribution(name, {k: float(given[k]) for k in needed}), source


def check(params, file):
    cases = base_cases(params, file)
    resolve_inputs(params, cases, file)
    if params["method"] == "sobol" and params["samples"] & (params["samples"] - 1):
        raise CaseError(file, "samples", params["samples"], "Sobol' sampling needs a power of 2 (its balance "
                        "properties hold for 2^m points)")
    if params["method"] == "morris" and params["levels"] % 2:
        raise CaseError(file, "levels", params["levels"], "must be even (Morris steps of levels / (2 (levels - 1)))")
    from sim.kinds.uncertainty.design import runs
    n = runs(params["method"], params["samples"], len(params["inputs"])) * len(cases)
    if n > MAX_RUNS:
        raise CaseError(file, "samples", params["samples"], f"{n} runs in all (limit {MAX_RUNS}): split the study")
    labels = [c.label for c in cases]
    for where, paths in [("outputs", params["outputs"])] + [(f"case_outputs.{k}", v) for k, v in params["case_outputs"].items()]:
        for i, p in enumerate(paths):
            if not PATH.fullmatch(p.strip("/")):
                raise CaseError(file, f"{where}[{i}]", p, "not an HDF5 dataset path (e.g. pnp/observables/"
                                "total_interfacial_resistance)")
        if len({p.strip("/") for p in paths}) != len(paths):
            raise CaseError(file, where, paths, "lists an output twice")
    for label, paths in params["case_outputs"].items():
        if label not in labels:
            raise CaseError(file, f"case_outputs.{label}", paths, "not a case of this study" + suggest(label, labels)
                            + f" (cases: {', '.join(labels)})")
        twice = {p.strip("/") for p in paths} & {p.strip("/") for p in params["outputs"]}
        if twice:
            raise CaseError(file, f"case_outputs.{label}", sorted(twice)[0], "already in `outputs`")
    every = {p.strip("/") for p in params["outputs"]} | {p.strip("/") for v in params["case_outputs"].values() for p in v}
    for table in ("thresholds", "transforms"):
        for path in params[table]:
            if path.strip("/") not in every:
                raise CaseError(file, f'{table}."{path}"', params[table][path], "not one of the outputs"
                                + suggest(path, sorted(every)))
    probs = params["quantile_probabilities"]
    if any(b <= a for a, b in zip(probs, probs[1:])):
        raise CaseError(file, "quantile_probabilities", probs, "must be strictly increasing")


def notes(params):
    """Legal choices worth a warning (stored with the result)."""
    out = []
    if params["method"] == "sobol" and params["samples"] < 32:
        out.append(f"samples = {params['samples']}: Sobol' indices from fewer than 32 base samples have confidence "
                   "intervals of the order of the indices themselves")
    if params["method"] == "sobol" and params["levels"] != 4:
        out.append("levels has no effect with method = 'sobol'")
    return out
