"""The materials database (sim/data/materials.toml): values with units, sources and ranges.

Every numeric property is a table `{value, unit, source[, range][, scale][, note]}`:

- `value` in `unit` (a unit of sim.units.UNIT_TO_SI); the loader converts to SI.
- `source` starts with a key of sim/data/sources.toml: a citation (`Lepley2013: ...` says where in
  the paper the number stands), `MODEL: <reason>` (an assumption of this project), `Derived: <how>`
  (arithmetic on stoichiometry or other entries) or `Convention: <what>` (a reference choice).
- `range = [low, high]` in `unit`: the interval the value is uncertain over.  A MODEL value must
  have one.  `scale` ("log" or "linear") says how to sample it; by default log when low > 0 and
  high/low > 10, else linear.
- `note`: free text (what the range rests on).

`check_materials` enforces this (one error naming the file, material, property and problem);
`load_materials` returns SI values, `material_ranges` the ranges in SI, `material_sources` the
provenance rows that `sim materials` and docs/materials.md show.
"""
from __future__ import annotations

import copy
import functools
import math
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import NamedTuple

from sim.errors import CaseError
from sim.units import UNIT_TO_SI, to_si
from sim.schema import suggest

DATA_FILE = "data/materials.toml"
SOURCES_FILE = "data/sources.toml"

#: source keys that are not citations: the first needs a range, all need a reason after the colon
MODEL, DERIVED, CONVENTION = "MODEL", "Derived", "Convention"
NON_CITATIONS = (MODEL, DERIVED, CONVENTION)
#: units of quantities that are positive by their nature (a density, a concentration, a conductivity,
#: a diffusivity, an absolute temperature, a length); eV, V and "1" may carry either sign
POSITIVE_UNITS = frozenset({"g/cm^3", "mAh/g", "mol/m^3", "cm^-3", "S/cm", "S/m", "mS/cm", "mAh/cm^2",
                            "ohm cm^2", "um", "nm", "mg/cm^2", "cm^2/s", "m^2/s", "K"})
RECORD_KEYS = frozenset({"value", "unit", "source", "range", "scale", "note"})
SCALES = ("log", "linear")


class MaterialsFileError(CaseError):
    """The materials database breaks its own format (printed as one line: file, material.property, reason)."""


@dataclass(frozen=True)
class PropertyRange:
    """The interval [low, high] a property is uncertain over, in SI (`unit` is the SI unit), and the
    scale to sample it on ("log": uniform in log(x); "linear": uniform in x)."""
    low: float
    high: float
    unit: str
    scale: str

    def __contains__(self, x):
        return self.low <= x <= self.high


class SourceRow(NamedTuple):
    """One row of `sim materials`: a property with its value (file unit and SI), source, range, note."""
    material: str
    prop: str
    value: object            # a number, or "table" for a tabulated property
    unit: str
    si: object               # SI value (or the number of table points)
    si_unit: str
    source: str
    range: tuple | None      # (low, high) in `unit`
    scale: str | None
    note: str


@functools.lru_cache(maxsize=1)
def _raw():
    """The database as parsed TOML, checked against its format once per process."""
    text = resources.files("sim").joinpath(DATA_FILE).read_text(encoding="utf-8")
    doc = tomllib.loads(text)
    check_materials(doc, source_citations(), f"sim/{DATA_FILE}")
    return doc


@functools.lru_cache(maxsize=1)
def source_citations():
    """{source key: full citation} (sim/data/sources.toml)."""
    return tomllib.loads(resources.files("sim").joinpath(SOURCES_FILE).read_text(encoding="utf-8"))


def source_key(source):
    """The key a `source` text starts with ('Lepley2013: Sec. IV' -> 'Lepley2013', 'MODEL: ...' -> 'MODEL')."""
    word = source.split()[0] if source.split() else ""
    return word.rstrip(",:;(")


def cited_keys(text):
    """Every key of sources.toml that `text` names as a word (its first word and any it refers to)."""
    words = set(re.findall(r"[A-Za-z][A-Za-z0-9]*", text or ""))
    return sorted(words & set(source_citations()))


def source_reason(source):
    """What follows the key of a `source` text ('MODEL: no data' -> 'no data')."""
    key = source_key(source)
    return source.strip()[len(key):].lstrip(" ,:;(").strip()


def default_scale(low, high):
    """log when the interval spans more than a decade of positive values, else linear."""
    return "log" if low > 0 and high / low > 10 else "linear"


# ------------------------------------------------------------------------------------- validation
def check_materials(doc, sources, file=f"sim/{DATA_FILE}"):
    """Check a parsed materials file against the format above; raise MaterialsFileError on the
    first violation, naming the file, `material.property` and the problem."""
    for name, props in doc.items():
        if not isinstance(props, dict):
            raise MaterialsFileError(file, name, props, "a material must be a table of properties")
        for prop, rec in props.items():
            if isinstance(rec, dict) and "value" in rec:
                _check_property(file, name, prop, rec, sources)
            elif isinstance(rec, dict):           # a table (e.g. an OCV curve): it still needs a source
                _check_source(file, f"{name}.{prop}", rec.get("source"), sources)


def _number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _check_property(file, name, prop, rec, sources):
    where = f"{name}.{prop}"

    def fail(key, value, reason):
        raise MaterialsFileError(file, f"{where}{key}", value, reason)

    unknown = sorted(set(rec) - RECORD_KEYS)
    if unknown:
        fail(f".{unknown[0]}", rec[unknown[0]], f"unknown field{suggest(unknown[0], RECORD_KEYS)}; a property "
             f"holds {', '.join(sorted(RECORD_KEYS))}")
    value, unit = rec["value"], rec.get("unit")
    if not _number(value):
        fail(".value", value, "must be a finite number")
    if unit not in UNIT_TO_SI:
        fail(".unit", unit, f"unknown unit{suggest(str(unit), UNIT_TO_SI)}; known: {', '.join(sorted(UNIT_TO_SI))}")
    positive = unit in POSITIVE_UNITS
    if positive and value <= 0:
        fail(".value", value, f"must be > 0 (a quantity in {unit} is positive)")
    key = _check_source(file, where, rec.get("source"), sources)
    rng = rec.get("range")
    if rng is None:
        if key == MODEL:
            fail(".range", None, "a MODEL value needs range = [low, high] (in its unit) for the uncertainty "
                 "it is swept over")
        if "scale" in rec:
            fail(".scale", rec["scale"], "a scale needs a range")
        return
    if not (isinstance(rng, list) and len(rng) == 2 and all(_number(x) for x in rng)):
        fail(".range", rng, f"must be [low, high]: two finite numbers in {unit}")
    low, high = rng
    if not low < high:
        fail(".range", rng, "needs low < high")
    if positive and low <= 0:
        fail(".range", rng, f"must be > 0 (a quantity in {unit} is positive)")
    if not low <= value <= high:
        fail(".range", rng, f"does not contain the value {value:g} {unit}")
    scale = rec.get("scale", default_scale(low, high))
    if scale not in SCALES:
        fail(".scale", scale, f"must be one of {', '.join(SCALES)}")
    if scale == "log" and low <= 0:
        fail(".scale", scale, "a log scale needs low > 0")


def _check_source(file, where, source, sources):
    if not isinstance(source, str) or not source.strip():
        raise MaterialsFileError(file, f"{where}.source", source, "every property needs a source: a key of "
                                 "sources.toml (a citation, MODEL, Derived or Convention) and where the number stands")
    key = source_key(source)
    if key not in sources:
        raise MaterialsFileError(file, f"{where}.source", source, f"source key {key!r} is not in "
                                 f"sim/{SOURCES_FILE}{suggest(key, sources)}")
    if key in NON_CITATIONS and not source_reason(source):
        raise MaterialsFileError(file, f"{where}.source", source, f"write the reason after the key: "
                                 f"'{key}: <reason>'")
    return key


# ------------------------------------------------------------------------------------------ access
def material_names():
    return sorted(_raw())


def material_record(name):
    """The raw record of one material (values in file units, with sources)."""
    try:
        return copy.deepcopy(_raw()[name])
    except KeyError:
        raise KeyError(name) from None


def material_field(name, key, default=None):
    """One top-level text field of a material's record (e.g. `carriers`), without copying the
    record.  KeyError for an unknown material."""
    try:
        value = _raw()[name].get(key, default)
    except KeyError:
        raise KeyError(name) from None
    if isinstance(value, (dict, list)):
        raise TypeError(f"{name}.{key} is not a plain field; use material_record")
    return value


def load_material(name, overrides=None, file=None, key_prefix="materials"):
    """SI property values of material `name`, with optional overrides (already SI).

    Returns a dict {property: value_SI}.  Unknown material names raise CaseError.
    """
    raw = _raw()
    if name not in raw and not overrides:
        raise CaseError(file, f"{key_prefix}", name,
                        f"unknown material{suggest(name, raw)}; see `python -m sim materials`, or define it "
                        f"in the case under [materials.{name}]")
    out = dict(_si_values(name)) if name in raw else {}
    for prop, value in (overrides or {}).items():
        out[prop] = value
    return out


@functools.lru_cache(maxsize=None)
def _si_values(name):
    """{property: SI value} of a database material (converted once per process; callers copy)."""
    return {prop: to_si(rec["value"], rec["unit"])[0] for prop, rec in _raw()[name].items()
            if isinstance(rec, dict) and "value" in rec}


def material_ranges(name):
    """{property: PropertyRange in SI} of every property of `name` that lists a range.  KeyError for
    an unknown material.  The uncertainty kind samples these (docs/materials.md)."""
    return dict(_ranges(name))


@functools.lru_cache(maxsize=None)
def _ranges(name):
    out = {}
    for prop, rec in _raw()[name].items():
        if isinstance(rec, dict) and "range" in rec:
            low, high = rec["range"]
            factor, si_unit = UNIT_TO_SI[rec["unit"]]
            out[prop] = PropertyRange(low * factor, high * factor, si_unit,
                                      rec.get("scale", default_scale(low, high)))
    return out


def material_table(name, prop):
    """A tabulated property (e.g. `ocv` with arrays x and V), or None."""
    rec = _raw().get(name, {}).get(prop)
    return dict(rec) if isinstance(rec, dict) and "value" not in rec else None


def material_sources():
    """A SourceRow per property of every material (tables give `value = "table"` and their length)."""
    rows = []
    for name, props in sorted(_raw().items()):
        for prop, rec in props.items():
            if not isinstance(rec, dict):
                continue
            if "value" not in rec:          # a table, e.g. an OCV curve
                rows.append(SourceRow(name, prop, "table", rec.get("unit", ""), len(next(iter(rec.values()))),
                                      "points", rec.get("source", ""), None, None, rec.get("note", "")))
                continue
            si, si_unit = to_si(rec["value"], rec["unit"])
            rng = tuple(rec["range"]) if "range" in rec else None
            scale = rec.get("scale", default_scale(*rng)) if rng else None
            rows.append(SourceRow(name, prop, rec["value"], rec["unit"], si, si_unit, rec["source"], rng, scale,
                                  rec.get("note", "")))
    return rows


def carrier_model_of(name):
    """The material's `carriers` entry ('frenkel', 'single'), or None."""
    return _raw().get(name, {}).get("carriers")


@functools.lru_cache(maxsize=1)
def cell_presets():
    """The cell designs of the review's Table 1 (sim/data/cell_presets.toml): the stack module's data,
    read here so that `sim.stack` does no I/O."""
    return tomllib.loads(resources.files("sim").joinpath("data/cell_presets.toml").read_text(encoding="utf-8"))
