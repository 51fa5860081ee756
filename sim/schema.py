"""A small declarative schema for case files: types, units, defaults, ranges, suggestions.

A schema is a `Table` of `Field`s (and nested `Table`s, `TableMap`s of named sub-tables).
`Table.validate(doc, file)` returns a new dict with defaults filled in, or raises one
`CaseError` naming the file, the dotted key path, the value and the reason.  The same
objects render `docs/case-format.md` (see `render_markdown`), so the docs cannot drift.
"""
from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Any, Callable

from sim.errors import CaseError

REQUIRED = object()


def suggest(name, candidates):
    """' (did you mean 'x'?)' for the closest candidate, or ''."""
    close = difflib.get_close_matches(str(name), [str(c) for c in candidates], n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


_TYPE_NAMES = {float: "a number", int: "an integer", str: "a string", bool: "true or false",
               list: "an array", dict: "a table"}


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


#: no array in a case file is longer: bounds validation and computation cost of hostile input
MAX_ARRAY_LENGTH = 1000


@dataclass
class Field:
    """One scalar or array value.

    type:    float, int, str, bool, or ("list", elem_type) for arrays
    unit:    unit of the value as written in the case file ("" when dimensionless/none)
    low/high: bounds; low_open/high_open make them strict
    choices: allowed values for strings
    length:  required array length (None for any, >=1)
    check:   extra callable(value) -> reason or None
    """
    type: Any
    doc: str = ""
    default: Any = REQUIRED
    unit: str = ""
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple | None = None
    length: int | None = None
    min_length: int = 0
    max_length: int | None = None
    check: Callable | None = None

    def _check_scalar(self, v, typ, file, key):
        if typ is float:
            if not _is_number(v):
                raise CaseError(file, key, v, f"expected {_TYPE_NAMES[float]}")
            v = float(v)
            if not math.isfinite(v):
                raise CaseError(file, key, v, "must be finite (not NaN or inf)")
        elif typ is int:
            if not isinstance(v, int) or isinstance(v, bool):
                raise CaseError(file, key, v, f"expected {_TYPE_NAMES[int]}")
        elif typ is bool:
            if not isinstance(v, bool):
                raise CaseError(file, key, v, f"expected {_TYPE_NAMES[bool]}")
        elif typ is str:
            if not isinstance(v, str):
                raise CaseError(file, key, v, f"expected {_TYPE_NAMES[str]}")
            if "\0" in v:                      # TOML's "\u0000": no file name, title or label holds one
                raise CaseError(file, key, v.replace("\0", "\\0"), "holds a NUL character")
            if self.choices is not None and v not in self.choices:
                raise CaseError(file, key, v, f"must be one of {list(self.choices)}"
                                + suggest(v, self.choices))
        if typ in (float, int):
            if self.low is not None and (v < self.low or (self.low_open and v == self.low)):
                op = ">" if self.low_open else ">="
                raise CaseError(file, key, v, f"must be {op} {self.low:g}{' ' + self.unit if self.unit else ''}")
            if self.high is not None and (v > self.high or (self.high_open and v == self.high)):
                op = "<" if self.high_open else "<="
                raise CaseError(file, key, v, f"must be {op} {self.high:g}{' ' + self.unit if self.unit else ''}")
        return v

    def validate(self, v, file, key):
        if isinstance(self.type, tuple) and self.type[0] == "list":
            if not isinstance(v, list):
                raise CaseError(file, key, v, "expected an array")
            if self.length is not None and len(v) != self.length:
                raise CaseError(file, key, v, f"expected an array of {self.length} values")
            if len(v) < self.min_length:
                raise CaseError(file, key, v, f"expected at least {self.min_length} values")
            if len(v) > MAX_ARRAY_LENGTH:
                raise CaseError(file, key, f"{len(v)} values",
                                f"at most {MAX_ARRAY_LENGTH} values allowed in any array of a case file "
                                "(a longer series is a sweep or a data file)")
            if self.max_length is not None and len(v) > self.max_length:
                raise CaseError(file, key, v, f"expected at most {self.max_length} values ({len(v)} given)")
            v = [self._check_scalar(e, self.type[1], file, f"{key}[{i}]") for i, e in enumerate(v)]
        else:
            v = self._check_scalar(v, self.type, file, key)
        if self.check is not None:
            reason = self.check(v)
            if reason:
                raise CaseError(file, key, v, reason)
        return v

    def type_name(self):
        if isinstance(self.type, tuple):
            n = f"[{self.length}]" if self.length else ""
            return f"array{n} of {self.type[1].__name__}"
        return self.type.__name__


@dataclass
class Table:
    """A TOML table with known keys."""
    fields: dict
    doc: str = ""
    optional: bool = False      # a missing optional table validates as its defaults

    def validate(self, doc, file, key=""):
        if not isinstance(doc, dict):
            raise CaseError(file, key or "<root>", doc, "expected a table")
        out = {}
        for k in doc:
            if k not in self.fields:
                raise CaseError(file, _join(key, k), doc[k], "unknown key" + suggest(k, self.fields))
        for k, spec in self.fields.items():
            path = _join(key, k)
            if k in doc:
                out[k] = spec.validate(doc[k], file, path)
            elif isinstance(spec, Field):
                if spec.default is REQUIRED:
                    raise CaseError(file, path, None, "required value is missing")
                if spec.default is not None:
                    out[k] = spec.default
            elif isinstance(spec, Table):
                if not spec.optional:
                    raise CaseError(file, path, None, "required table is missing")
                out[k] = spec.validate({}, file, path)
            elif isinstance(spec, TableMap):
                if spec.min_entries:
                    raise CaseError(file, path, None, "required table is missing")
                out[k] = {}
            elif isinstance(spec, FieldMap) and spec.default is not None:
                out[k] = dict(spec.default)
        return out


@dataclass
class TableMap:
    """A table of user-named sub-tables, all of one schema (e.g. [layers.<name>])."""
    item: Table
    doc: str = ""
    min_entries: int = 0
    max_entries: int = 1000
    key_choices: tuple | None = None

    def validate(self, doc, file, key=""):
        if not isinstance(doc, dict):
            raise CaseError(file, key, doc, "expected a table of named tables")
        if len(doc) < self.min_entries:
            raise CaseError(file, key, doc, f"needs at least {self.min_entries} entries")
        if len(doc) > self.max_entries:
            raise CaseError(file, key, f"{len(doc)} entries", f"at most {self.max_entries} entries allowed")
        out = {}
        for name, sub in doc.items():
            if self.key_choices is not None and name not in self.key_choices:
                raise CaseError(file, _join(key, name), sub,
                                "unknown name" + suggest(name, self.key_choices))
            out[name] = self.item.validate(sub, file, _join(key, name))
        return out


@dataclass
class FieldMap:
    """A table of user-named values of one Field type (e.g. mass fractions by material)."""
    item: Field
    doc: str = ""
    key_choices: tuple | None = None
    default: Any = None
    optional: bool = True

    def validate(self, doc, file, key=""):
        if not isinstance(doc, dict):
            raise CaseError(file, key, doc, "expected a table of named values")
        out = {}
        for name, v in doc.items():
            if self.key_choices is not None and name not in self.key_choices:
                raise CaseError(file, _join(key, name), v, "unknown name" + suggest(name, self.key_choices))
            out[name] = self.item.validate(v, file, _join(key, name))
        return out


def _join(a, b):
    return f"{a}.{b}" if a else str(b)


def _constraints(spec):
    cons = []
    if spec.low is not None:
        cons.append(f"{'>' if spec.low_open else '≥'} {spec.low:g}")
    if spec.high is not None:
        cons.append(f"{'<' if spec.high_open else '≤'} {spec.high:g}")
    if spec.choices:
        cons.append("one of " + ", ".join(f"`{c}`" for c in spec.choices))
    return cons


def render_markdown(schema, prefix="", level=3):
    """Markdown table of every key: path, type, unit, default, constraint, meaning."""
    lines = []
    rows = []
    subtables = []
    for k, spec in schema.fields.items():
        path = _join(prefix, k)
        if isinstance(spec, FieldMap):
            rows.append(f"| `{path}.<name>` | {spec.item.type_name()} | {spec.item.unit or '—'} | — | "
                        f"{'; '.join(_constraints(spec.item)) or '—'} | {spec.doc} |")
        elif isinstance(spec, Field):
            default = "required" if spec.default is REQUIRED else ("—" if spec.default is None else f"`{spec.default!r}`")
            cons = _constraints(spec)
            rows.append(f"| `{path}` | {spec.type_name()} | {spec.unit or '—'} | {default} | "
                        f"{'; '.join(cons) or '—'} | {spec.doc} |")
        else:
            subtables.append((path, spec))
    if rows:
        lines += ["| key | type | unit | default | constraint | meaning |",
                  "|---|---|---|---|---|---|", *rows, ""]
    for path, spec in subtables:
        if isinstance(spec, TableMap):
            lines += [f"{'#' * level} `[{path}.<name>]`", "", spec.doc, ""]
            lines += render_markdown(spec.item, f"{path}.<name>", level + 1)
        else:
            opt = " (optional)" if spec.optional else ""
            lines += [f"{'#' * level} `[{path}]`{opt}", "", spec.doc, ""]
            lines += render_markdown(spec, path, level + 1)
    return lines


def field_of(schema, dotted):
    """The Field at a dotted key path, or None."""
    node = schema
    for part in dotted.split("."):
        if isinstance(node, TableMap):      # this part is a user-chosen name
            node = node.item
            continue
        if not isinstance(node, Table) or part not in node.fields:
            return None
        node = node.fields[part]
    return node if isinstance(node, Field) else None


def unit_of(schema, dotted):
    """Unit of the field at a dotted key path ('' when unknown or dimensionless)."""
    f = field_of(schema, dotted)
    return f.unit if f else ""
