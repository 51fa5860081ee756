"""Case files: read TOML, pick the schema of the declared kind, validate, resolve defaults.

    case = load_case("cases/fig3_energy_density.toml")
    case.kind, case.params, case.text

Validation happens before any computation and raises one CaseError naming the file, the key
path, the value and the reason.  Case files are data: nothing in them is evaluated.
"""
from __future__ import annotations

import re

import tomllib
from dataclasses import dataclass
from pathlib import Path

from sim import inputs
from sim.errors import CaseError
from sim.io import read_result
from sim.kinds import REGISTRY, kind
from sim.kinds import schema as kind_schema
from sim.materials import _raw as _materials_raw
from sim.materials import load_material, material_names
from sim.schema import Field, Table, TableMap, suggest
from sim.units import to_si

#: bounds per material property (in file units), used for case overrides
_PROPERTY_BOUNDS = {
    "density": dict(low=0.0, low_open=True),
    "specific_capacity": dict(low=0.0, low_open=True),
    "theoretical_capacity": dict(low=0.0, low_open=True),
    "average_voltage": dict(low=0.0, low_open=True),
    "eps_r": dict(low=1.0),
    "li_concentration": dict(low=0.0, low_open=True),
    "conductivity": dict(low=0.0, low_open=True),
    "li_diffusivity": dict(low=0.0, low_open=True),
    "mobile_fraction": dict(low=0.0, high=1.0, low_open=True, high_open=True),
    "electron_site_concentration": dict(low=0.0, low_open=True),
    "electron_fraction": dict(low=0.0, high=1.0, low_open=True, high_open=True),
    "electron_diffusivity": dict(low=0.0, low_open=True),
    "mu0_li": dict(low=-20.0, high=20.0),
    "reference_potential": dict(low=-10.0, high=10.0),
}


def unit_slug(unit):
    """'g/cm^3' -> 'g_cm3'; '1' -> ''."""
    return "" if unit == "1" else unit.replace("/", "_").replace("^", "")


def override_key(prop, unit):
    slug = unit_slug(unit)
    return f"{prop}_{slug}" if slug else prop


def _override_table():
    """Schema of [materials.<name>]: every property of the database, unit in the key."""
    fields = {}
    for props in _materials_raw().values():
        for prop, rec in props.items():
            if isinstance(rec, dict) and "value" in rec:
                key = override_key(prop, rec["unit"])
                fields[key] = Field(float, f"overrides `{prop}` of the database", default=None,
                                    unit=rec["unit"], **_PROPERTY_BOUNDS.get(prop, {}))
    return Table(dict(sorted(fields.items())), "property overrides")


def material_overrides_si(overrides):
    """{material: {key_with_unit: value}} -> {material: {property: SI value}}."""
    raw = _materials_raw()
    out = {}
    for name, props in overrides.items():
        out[name] = {}
        for key, value in props.items():
            if key == "carriers":
                out[name][key] = value
                continue
            for prop, rec in raw[name].items() if name in raw else ():
                if isinstance(rec, dict) and "value" in rec and override_key(prop, rec["unit"]) == key:
                    out[name][prop] = to_si(value, rec["unit"])[0]
                    break
            else:  # property the material does not list: unit from any material that has it
                for props2 in raw.values():
                    for prop, rec in props2.items():
                        if isinstance(rec, dict) and "value" in rec and override_key(prop, rec["unit"]) == key:
                            out[name][prop] = to_si(value, rec["unit"])[0]
    return out


def materials_schema():
    table = _override_table()
    table.fields["carriers"] = Field(str, "carrier model of a material defined in the case (frenkel or single)",
                                     default=None, choices=("frenkel", "single"))
    return TableMap(table, "Overrides of materials-database properties, by material name, or a new material "
                    "defined in the case (a name the database does not have: give every property the layers "
                    "need). Keys carry the unit of the database (`python -m sim materials`).")


def case_material_names(params):
    """Materials that a case defines itself ([materials.<name>] with a name the database lacks)."""
    return sorted(set(params.get("materials", {})) - set(_materials_raw()))


@dataclass
class Case:
    path: Path
    text: str
    kind: str
    params: dict
    overrides: list = None       # [(dotted key, value)] applied on top of the text (`--set`)


def _nesting(text):
    """Deepest nesting of [ / { in values and of dotted table headers (a cheap upper bound)."""
    depth = deepest = 0
    for ch in text:
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth = max(0, depth - 1)
    header = max((line.count(".") for line in text.splitlines() if line.lstrip().startswith("[")), default=0)
    return max(deepest, header)


def parse_case_text(text, file="<string>"):
    """Parse TOML text into a dict; syntax errors and absurd nesting become CaseError."""
    if len(text) > MAX_CASE_BYTES:
        raise CaseError(file, "<file>", len(text), f"larger than {MAX_CASE_BYTES} bytes: not a case file")
    if _nesting(text) > MAX_NESTING:
        raise CaseError(file, "<syntax>", None, f"nested more than {MAX_NESTING} levels deep")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise CaseError(file, "<syntax>", None, f"not valid TOML: {e}") from None
    except RecursionError:
        raise CaseError(file, "<syntax>", None, "nested too deeply to parse") from None


#: limits on what a case or sweep file may be before it is read or parsed
MAX_CASE_BYTES = inputs.LIMITS["case"]
MAX_NESTING = 64


def read_case_text(path):
    """The text of a case file: a regular file of at most MAX_CASE_BYTES, UTF-8.  Devices, pipes and
    huge files are refused before anything is read (`/dev/zero` would never end; sim.inputs).  A
    result file given as a case says so."""
    path = Path(path)
    raw = inputs.read_bytes(path, "case", lambda why: CaseError(path, "<file>", None, why))
    if raw.startswith(b"sim-result sha256=") or raw[:8] == b"\x89HDF\r\n\x1a\n":
        raise CaseError(path, "<file>", None, "an HDF5 result file, not a case file: re-run it with "
                        f"`sim run --from {path}`, or load it with sim.open('{path}')")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CaseError(path, "<file>", None, f"not UTF-8 text (byte {e.start})") from None


def validate_document(doc, file="<string>"):
    """Validate a parsed case dict; return (kind, resolved params)."""
    if not isinstance(doc, dict):
        raise CaseError(file, "<root>", doc, "a case must be a TOML table")
    kinds = REGISTRY                      # names only: just the case's kind is imported
    kind = doc.get("kind")
    if kind is None:
        raise CaseError(file, "kind", None, f"required value is missing; one of {sorted(kinds)}")
    if not isinstance(kind, str) or kind not in kinds:
        raise CaseError(file, "kind", kind, f"unknown kind; one of {sorted(kinds)}"
                        + (suggest(kind, kinds) if isinstance(kind, str) else ""))
    schema, check = kind_schema(kind)
    params = schema.validate(doc, file)
    check(params, file)
    return kind, params


def parse_override(item, file="--set"):
    """'key.path=value' -> (key path, value); the value is read as TOML (numbers, strings in
    quotes, arrays, booleans), else taken as a bare string."""
    if "=" not in item:
        raise CaseError(file, item, None, "expected key=value, e.g. temperature_K=310")
    key, raw = (s.strip() for s in item.split("=", 1))
    if not key:
        raise CaseError(file, item, None, "expected key=value, e.g. temperature_K=310")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key, value


def key_parts(key):
    """The tables of a dotted key path, TOML's quoted keys kept whole:
    'parameters."layers.slab.eps_r".low' -> ['parameters', 'layers.slab.eps_r', 'low']."""
    return [m.group(1) if m.group(1) is not None else m.group(2).strip()
            for m in re.finditer(r'"([^"]*)"|([^."]+)', key)]


def apply_overrides(doc, overrides, file="--set"):
    """Set each dotted key path of `overrides` in the parsed case document (tables are created)."""
    for key, value in overrides or []:
        parts = key_parts(key)
        d = doc
        for p in parts[:-1]:
            nxt = d.setdefault(p, {})
            if not isinstance(nxt, dict):
                raise CaseError(file, key, value, f"'{p}' is a value, not a table")
            d = nxt
        d[parts[-1]] = value
    return doc


def load_case(path, overrides=None):
    """Read, parse and validate a case file; `overrides` [(dotted key, value)] are applied to the
    document first and validated like the file."""
    path = Path(path)
    text = read_case_text(path)
    doc = apply_overrides(parse_case_text(text, path), overrides, f"{path} (--set)")
    kind, params = validate_document(doc, path)
    return Case(path, text, kind, params, list(overrides or []))


def case_from_result(result_path):
    """The case that produced a result file (its stored text, path and --set overrides), validated
    again: `sim run --from results/x.h5` reproduces the run."""
    import json
    r = read_result(result_path)
    text = r.attrs.get("case_text")
    if not text:
        raise CaseError(result_path, "case_text", None, "the result holds no case text (a sweep file?)")
    path = Path(r.attrs.get("case_path", str(result_path)))
    overrides = [tuple(o) for o in json.loads(r.attrs.get("overrides_json", "[]"))]
    doc = apply_overrides(parse_case_text(text, path), overrides, f"{result_path} (overrides)")
    kind, params = validate_document(doc, path)
    return Case(path, text, kind, params, overrides)


def resolved_materials(params):
    """{material: {property: SI value}} of every database material the case names (layers,
    cells, markers, overrides), with the case's overrides applied: what the run used."""
    names = set(material_names()) | set(params.get("materials", {}))
    found = set()

    def walk(v):
        if isinstance(v, str) and v in names:
            found.add(v)
        elif isinstance(v, dict):
            for k, x in v.items():
                if k in names:
                    found.add(k)
                walk(x)
        elif isinstance(v, (list, tuple)):
            for x in v:
                walk(x)
    walk(params)
    overrides = material_overrides_si(params.get("materials", {}))
    return {n: load_material(n, overrides.get(n)) for n in sorted(found)}


def plausibility(params):
    """Warnings for legal values that are almost certainly unit mistakes, and for keys that have no
    effect in their context, as text: the kind's own (`notes(params)` of its package) and a temperature
    in degrees Celsius."""
    out = []
    name = params.get("kind")
    if name in REGISTRY and hasattr(kind(name), "notes"):
        out += kind(name).notes(params)
    T = params.get("temperature_K")
    if isinstance(T, (int, float)) and T < 150.0:
        out.append(f"temperature_K = {T:g} K is very cold: if you meant {T:g} °C, write {T + 273.15:g}")
    return out


def check_database_materials(params, file):
    """Kinds that take database materials only: an unknown name in [materials] is an error."""
    for name in case_material_names(params):
        raise CaseError(file, f"materials.{name}", name, "unknown material" + suggest(name, _materials_raw())
                        + " (this kind uses database materials only)")
