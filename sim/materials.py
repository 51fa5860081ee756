"""The materials database (sim/data/materials.toml): values with units and sources.

Every property in the file is a table {value, unit, source[, uncertainty]}.  `load_materials`
returns, per material, a dict of SI values; `material_sources` keeps the provenance.
"""
from __future__ import annotations

import copy
import functools
import tomllib
from importlib import resources

from sim.errors import CaseError
from sim.units import to_si
from sim.schema import suggest

DATA_FILE = "data/materials.toml"
SOURCES_FILE = "data/sources.toml"


@functools.lru_cache(maxsize=1)
def _raw():
    text = resources.files("sim").joinpath(DATA_FILE).read_text(encoding="utf-8")
    return tomllib.loads(text)


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


def material_table(name, prop):
    """A tabulated property (e.g. `ocv` with arrays x and V), or None."""
    rec = _raw().get(name, {}).get(prop)
    return dict(rec) if isinstance(rec, dict) and "value" not in rec else None


def material_sources():
    """Rows (material, property, value, unit, SI value, SI unit, source, uncertainty)."""
    rows = []
    for name, props in sorted(_raw().items()):
        for prop, rec in props.items():
            if not isinstance(rec, dict):
                continue
            if "value" not in rec:          # a table, e.g. an OCV curve
                rows.append((name, prop, "table", rec.get("unit", ""), len(next(iter(rec.values()))), "points",
                             rec.get("source", ""), rec.get("uncertainty", "")))
                continue
            si, si_unit = to_si(rec["value"], rec["unit"])
            rows.append((name, prop, rec["value"], rec["unit"], si, si_unit,
                         rec.get("source", ""), rec.get("uncertainty", "")))
    return rows


@functools.lru_cache(maxsize=1)
def source_citations():
    """{source key: full citation} (sim/data/sources.toml)."""
    return tomllib.loads(resources.files("sim").joinpath(SOURCES_FILE).read_text(encoding="utf-8"))


def source_key(source):
    """The key a `source` text starts with ('LIT (3-5e-4 S/cm)' -> 'LIT')."""
    word = source.split()[0] if source.split() else ""
    return word.rstrip(",:;(")


def carrier_model_of(name):
    """The material's `carriers` entry ('frenkel', 'single'), or None."""
    return _raw().get(name, {}).get("carriers")


@functools.lru_cache(maxsize=1)
def cell_presets():
    """The cell designs of the review's Table 1 (sim/data/cell_presets.toml): the stack module's data,
    read here so that `sim.stack` does no I/O."""
    return tomllib.loads(resources.files("sim").joinpath("data/cell_presets.toml").read_text(encoding="utf-8"))
