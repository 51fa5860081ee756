"""Case files: read TOML, pick the schema of the declared kind, validate, resolve defaults.

    case = load_case("cases/fig3_energy_density.toml")
    case.kind, case.params, case.text

Validation happens before any computation and raises one CaseError naming the file, the key
path, the value and the reason.  Case files are data: nothing in them is evaluated.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from .errors import CaseError
from .materials import _raw as _materials_raw
from .schema import Field, Table, TableMap, suggest

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
    from .units import to_si
    raw = _materials_raw()
    out = {}
    for name, props in overrides.items():
        out[name] = {}
        for key, value in props.items():
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
    return TableMap(_override_table(), "Overrides of materials-database properties, by material "
                    "name. Keys carry the unit of the database (`python -m sim materials`).",
                    key_choices=tuple(sorted(_materials_raw())))


@dataclass
class Case:
    path: Path
    text: str
    kind: str
    params: dict


def _kinds():
    from .schemas import KINDS
    return KINDS


def parse_case_text(text, file="<string>"):
    """Parse TOML text into a dict; syntax errors become CaseError."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise CaseError(file, "<syntax>", None, f"not valid TOML: {e}") from None


def read_case_text(path):
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise CaseError(path, "<file>", None, f"cannot read: {e.strerror or e}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CaseError(path, "<file>", None, f"not UTF-8 text (byte {e.start})") from None


def validate_document(doc, file="<string>"):
    """Validate a parsed case dict; return (kind, resolved params)."""
    if not isinstance(doc, dict):
        raise CaseError(file, "<root>", doc, "a case must be a TOML table")
    kinds = _kinds()
    kind = doc.get("kind")
    if kind is None:
        raise CaseError(file, "kind", None, f"required value is missing; one of {sorted(kinds)}")
    if not isinstance(kind, str) or kind not in kinds:
        raise CaseError(file, "kind", kind, f"unknown kind; one of {sorted(kinds)}"
                        + (suggest(kind, kinds) if isinstance(kind, str) else ""))
    schema, check = kinds[kind]
    params = schema.validate(doc, file)
    check(params, file)
    return kind, params


def load_case(path):
    """Read, parse and validate a case file."""
    path = Path(path)
    text = read_case_text(path)
    doc = parse_case_text(text, path)
    kind, params = validate_document(doc, path)
    return Case(path, text, kind, params)
