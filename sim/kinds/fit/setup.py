"""A fit case resolved: the impedance case, the fitted keys with their bounds and start values, and the
validated spectra (one per temperature).  Every check runs here, before any spectrum is computed; each
failure is one CaseError naming the fit file and its key."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from sim.case import load_case, override_key, parse_case_text, read_case_text
from sim.errors import CaseError
from sim.materials import _raw as database
from sim.schema import Field, field_of, suggest
from sim.spectra import MIN_POINTS, read_spectrum

#: case keys a fit cannot move: the spectra's temperatures and frequencies replace them
FIXED = ("kind", "temperature_K", "impedance.")


@dataclass
class Parameter:
    """A fitted case key.  The optimizer works in u in [0, 1]: u = (t - t_low) / (t_high - t_low) with t = x
    (scale = linear) or t = log10 x (scale = log), so every variable has the same scale."""
    key: str
    unit: str
    low: float
    high: float
    scale: str
    start: float

    def _t(self, x):
        return np.log10(x) if self.scale == "log" else np.asarray(x, float)

    def to_u(self, x):
        lo, hi = self._t(self.low), self._t(self.high)
        return float((self._t(x) - lo) / (hi - lo))

    def from_u(self, u):
        lo, hi = self._t(self.low), self._t(self.high)
        t = lo + u * (hi - lo)
        x = 10.0 ** t if self.scale == "log" else t
        return float(np.clip(x, self.low, self.high))       # 10**log10(high) may round past high

    def dx_du(self, x):
        """Derivative of the value by u at x (the chain rule of the covariance)."""
        width = self._t(self.high) - self._t(self.low)
        return float(x * np.log(10.0) * width) if self.scale == "log" else float(width)


@dataclass
class FitSetup:
    case_path: Path
    case_rel: str
    case_text: str
    params: dict                  # the impedance case's resolved parameters at the start values
    parameters: list              # [Parameter]
    temperatures: list            # K, one per spectrum
    spectra: list                 # [sim.spectra.Spectrum], within the frequency range
    files: list                   # the data files as given
    digests: list = field(default_factory=list)        # SHA-256 of each data file's bytes, as read


def _key(name, part=None):
    return f'parameters."{name}"' + (f".{part}" if part else "")


def prepare(fit, file=None, case_dir=None):
    """FitSetup of validated fit parameters `fit`; `file` is the fit case (its folder holds the case and data
    files), or give `case_dir`."""
    base = Path(case_dir) if case_dir is not None else (Path(str(file)).parent if file else Path("."))
    case_path = base / fit["case"]
    if not case_path.exists():
        raise CaseError(file, "case", fit["case"], f"no such case file ({case_path})")
    text = read_case_text(case_path)
    doc = parse_case_text(text, case_path)
    if not isinstance(doc, dict) or doc.get("kind") != "pnp":
        raise CaseError(file, "case", fit["case"], "not an impedance case: a fit needs kind = \"pnp\" with [impedance]")
    plain = load_case(case_path).params
    if plain["impedance"].get("temperatures_K") is None:
        raise CaseError(file, "case", fit["case"], "not an impedance case: it has no [impedance] temperatures_K")
    from sim.kinds.pnp.schema import SCHEMA as PNP
    parameters = []
    for name, spec in fit["parameters"].items():
        parameters.append(_parameter(name, spec, plain, PNP, file))
    starts = [(p.key, p.start) for p in parameters]
    params = _validated(case_path, starts, file, "parameters", "start values")
    for i, p in enumerate(parameters):                  # the bounds are legal values of the case
        for part, value in (("low", p.low), ("high", p.high)):
            _validated(case_path, starts[:i] + [(p.key, value)] + starts[i + 1:], file, _key(p.key, part), value)
    temps = _temperatures(fit, plain, file)
    rng = fit.get("frequency_range_Hz")
    if rng is not None and rng[1] <= rng[0]:
        raise CaseError(file, "frequency_range_Hz", rng, "the second value must exceed the first")
    spectra, digests = [], []
    for i, name in enumerate(fit["data"]):
        key = "data" if len(fit["data"]) == 1 else f"data[{i}]"
        path = base / name

        def fail(why, key=key, name=name):
            return CaseError(file, key, name, why)
        s = read_spectrum(path, fail, fit["convention"])
        if rng is not None:
            keep = (s.frequency >= rng[0]) & (s.frequency <= rng[1])
            if keep.sum() < MIN_POINTS:
                raise CaseError(file, "frequency_range_Hz", rng, f"leaves {int(keep.sum())} points of {name}; "
                                f"a fit needs at least {MIN_POINTS}")
            s = replace(s, frequency=s.frequency[keep], z=s.z[keep])
        spectra.append(s)
        digests.append(s.sha256)
    points = sum(s.frequency.size for s in spectra)
    if 2 * points <= len(parameters):
        raise CaseError(file, "parameters", [p.key for p in parameters], f"{len(parameters)} parameters but only "
                        f"{2 * points} residuals (real and imaginary parts of {points} points)")
    return FitSetup(case_path, fit["case"], text, params, parameters, temps, spectra, list(fit["data"]), digests)


def _parameter(name, spec, plain, pnp_schema, file):
    if name.startswith(FIXED) or name in FIXED:
        raise CaseError(file, _key(name), name, "cannot be fitted: the spectra's temperatures and frequencies "
                        "replace the case's")
    f = field_of(pnp_schema, name)
    if not isinstance(f, Field) or f.type is not float:
        last = name.rsplit(".", 1)[-1]
        raise CaseError(file, _key(name), name, "not a numeric key of a pnp case (a fit moves keys such as "
                        "layers.<name>.eps_r, layers.<name>.species.<species>.D_m2_s or "
                        "materials.<material>.conductivity_S_cm)" + suggest(last, _numeric_leaves(pnp_schema)))
    lo, hi, scale = spec["low"], spec["high"], spec["scale"]
    if not lo < hi:
        raise CaseError(file, _key(name, "high"), hi, f"must exceed low = {lo:g}")
    if scale == "log" and lo <= 0:
        raise CaseError(file, _key(name, "low"), lo, "must be > 0 with scale = \"log\"")
    start = spec.get("start")
    if start is None:
        start = _case_value(name, plain)
        if start is None:
            raise CaseError(file, _key(name, "start"), None, "required: the case does not set this key")
        where = "the case's value"
    else:
        where = "start"
    if not lo <= start <= hi:
        raise CaseError(file, _key(name, "start"), start, f"{where} {start:g} lies outside [low, high] = [{lo:g}, {hi:g}]")
    return Parameter(name, f.unit, float(lo), float(hi), scale, float(start))


def _numeric_leaves(schema, out=None):
    from sim.schema import Table, TableMap
    out = set() if out is None else out
    for k, spec in schema.fields.items():
        if isinstance(spec, Field) and spec.type is float:
            out.add(k)
        elif isinstance(spec, Table):
            _numeric_leaves(spec, out)
        elif isinstance(spec, TableMap):
            _numeric_leaves(spec.item, out)
    return out


def get_path(params, key):
    """The value at a dotted key path of resolved parameters, or None."""
    node = params
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def set_path(params, key, value):
    """Set the value at a dotted key path that exists in resolved parameters."""
    parts = key.split(".")
    node = params
    for part in parts[:-1]:
        node = node[part]
    node[parts[-1]] = value


def _case_value(name, params):
    """The case's value of a key, else (a `materials.<name>.<property>` key) the database's, in the key's unit."""
    v = get_path(params, name)
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    parts = name.split(".")
    if len(parts) == 3 and parts[0] == "materials" and parts[1] in database():
        for prop, rec in database()[parts[1]].items():
            if isinstance(rec, dict) and "value" in rec and override_key(prop, rec["unit"]) == parts[2]:
                return float(rec["value"])
    return None


def _validated(case_path, overrides, file, key, value):
    """The impedance case's parameters with `overrides` applied, validated like `--set`; a value the case
    refuses is an error of the fit file's key."""
    try:
        return load_case(case_path, overrides).params
    except CaseError as e:
        raise CaseError(file, key, value, f"not valid for the case {case_path.name} (key '{e.key}': {e.reason})") from None


def _temperatures(fit, plain, file):
    n = len(fit["data"])
    temps = fit.get("temperatures_K")
    if temps is None:
        temps = plain["impedance"]["temperatures_K"]
        if len(temps) != n:
            raise CaseError(file, "temperatures_K", None, f"required: {n} data file(s) but the case has "
                            f"{len(temps)} impedance temperature(s); give the temperature of each file")
    elif len(temps) != n:
        raise CaseError(file, "temperatures_K", temps, f"needs one temperature per data file ({n})")
    names = [f"{T:.2f}" for T in temps]
    for i, t in enumerate(names):
        if t in names[:i]:
            raise CaseError(file, "temperatures_K", temps, f"{temps[i]:g} K repeats {temps[names.index(t)]:g} K "
                            "(to 0.01 K): give each spectrum's own temperature")
    return [float(T) for T in temps]
