"""A few key results of a result or sweep, with units: the lines `sim run` ends with and the body of
a result's repr.  Read from the {HDF5 path: Q} of a result alone (sim.io.Result), so the same lines
come from a file, from `Simulation.solve()` and from `sim.open`.

    key_results(result) -> [(label, value, units)]      at most MAX_LINES
    lines(result) -> ["  label  value units", ...]
"""
from __future__ import annotations

import numpy as np

MAX_LINES = 6


def _get(result, path):
    """(value, units) of a dataset, or None if the result has none."""
    path = path.strip("/")
    if path not in result.data:
        return None
    q = result.data[path]
    return q.value, q.units


def _scalar(result, path):
    got = _get(result, path)
    if got is None:
        return None
    v = np.asarray(got[0])
    return (float(v), got[1]) if v.ndim == 0 and v.dtype.kind in "fiu" else None


def _rows(result, table):
    """[(label, value, units)] of the scalar datasets of [(path, label)] that the result has."""
    return [(label, *got) for path, label in table for got in [_scalar(result, path)] if got]


def _materials(result):
    """{layer name: material} of a pnp result (its parameters are stored with sorted keys: the
    interfaces' own `interface` attributes give the stack order)."""
    layers = result.parameters.get("layers")
    if not isinstance(layers, dict):
        return {}
    return {n: str(v.get("material") or n) for n, v in layers.items() if isinstance(v, dict)}


def _pnp(result):
    """Contact potential and total excess resistance; that of each interface (or of the surface layer); the sweep,
    transient runs and spectra, for which the interface lines give way when they would not all fit."""
    out = _rows(result, (("pnp/observables/contact_potential", "contact potential phi(0) - phi(L)"),)
                + ((("pnp/observables/total_excess_resistance", "total excess resistance of the space-charge layers"),)
                   if "pnp/observables/interface_0/left/excess_resistance" in result.data else ()))
    details = []
    materials = _materials(result)
    i = 0
    while f"pnp/observables/interface_{i}/left/excess_resistance" in result.data:
        left, right = (_scalar(result, f"pnp/observables/interface_{i}/{s}/excess_resistance") for s in ("left", "right"))
        pair = str(result.data[f"pnp/observables/interface_{i}/left/excess_resistance"].attrs.get("interface", f"interface {i}"))
        name = " | ".join(materials.get(n, n) for n in pair.split("|"))
        details.append((f"excess resistance at {name} (left side, right side)", f"{left[0]:.4g}, {right[0]:.4g}", left[1]))
        i += 1
    details += _rows(result, (("pnp/observables/surface/excess_resistance", "excess resistance of the surface layer"),
                              ("pnp/observables/surface/scl_charge", "space charge of the surface layer")))
    extras = []
    sweep = _get(result, "pnp/sweep/cathode_potential")
    if sweep is not None and np.size(sweep[0]):
        u = np.asarray(sweep[0], float)
        extras.append(("cathode-potential sweep", f"{u.size} points, {u.min():.4g} to {u.max():.4g}", sweep[1]))
    volts = _get(result, "pnp/transient/overpotential")
    if volts is not None:
        setpoint = result.data["pnp/transient/setpoint"]
        for value, row in zip(np.atleast_1d(np.asarray(setpoint.value, float)), np.atleast_2d(np.asarray(volts[0], float))):
            finite = row[np.isfinite(row)]
            at = f"at {value:g} {setpoint.units}" if np.isfinite(value) else "of the current table"
            if finite.size:
                extras.append((f"final overpotential {at}", finite[-1], volts[1]))
    r_lf = _get(result, "pnp/impedance/low_frequency_resistance")
    if r_lf is not None:
        temps = np.asarray(result.data["pnp/impedance/temperature"].value, float)
        for k in sorted({0, temps.size - 1}):
            extras.append((f"low-frequency resistance at {temps[k]:.2f} K", float(np.asarray(r_lf[0])[k]), r_lf[1]))
    return out + (details if len(out) + len(details) + len(extras) <= MAX_LINES else []) + extras


#: key results of the closed-form kinds: (path, label)
_TABLES = {
    "energy_density": [("energy/cell/specific_energy", "cell specific energy"),
                       ("energy/cell/energy_density", "cell energy density"),
                       ("energy/reference_lib/specific_energy", "reference Li-ion specific energy"),
                       ("energy/cell/bet_gravimetric", "break-even separator thickness (gravimetric)"),
                       ("energy/cell/bet_volumetric", "break-even separator thickness (volumetric)")],
    "polarization": [("polarization/current_density", "current density"),
                     ("polarization/total", "total polarization"),
                     ("polarization/budget", "polarization budget"),
                     ("polarization/max_separator_thickness", "thickest separator within the budget")],
    "uncertainty": [("uncertainty/base_samples", "base samples N (Saltelli) or trajectories (Morris)"),
                    ("uncertainty/runs", "runs per case"),
                    ("uncertainty/failed_runs", "failed runs, all cases (left out of the indices)")],
    "design_map": [("design_map/current_density", "current density"),
                   ("design_map/budget", "polarization budget"),
                   ("design_map/bet_gravimetric", "break-even separator thickness (gravimetric)")],
}


def _sweep(result):
    recs = result.data.get("summary/status")
    if recs is None:
        return []
    status = [str(s) for s in np.asarray(recs.value).ravel()]
    keys = result.json_attr("varied_keys", []) if hasattr(result, "json_attr") else []
    out = [("cases", f"{status.count('ok')} ok, {status.count('failed')} failed, {status.count('pending')} pending "
                     f"of {len(status)}", "")]
    for key in keys:
        col = result.data.get(f"summary/param:{key}")
        if col is not None and np.size(col.value):
            v = np.asarray(col.value, float)
            out.append((f"varied {key}", f"{np.nanmin(v):.4g} to {np.nanmax(v):.4g}", col.units))
    return out


def key_results(result):
    """[(label, value, units)] of the few results a user looks at first (at most MAX_LINES)."""
    if result.attrs.get("study") == "sweep":
        out = _sweep(result)
    elif result.attrs.get("kind") == "pnp":
        out = _pnp(result)
    else:
        out = _rows(result, _TABLES.get(result.attrs.get("kind"), []))
        if result.attrs.get("kind") == "design_map":
            k = 0
            while f"design_map/variant_{k}/interfacial_asr" in result.data:
                got = _scalar(result, f"design_map/variant_{k}/interfacial_asr")
                name = result.data.get(f"design_map/variant_{k}/name")
                out.append((f"interfacial ASR, {name.value if name else k}", *got))
                k += 1
    return out[:MAX_LINES]


def _show(value):
    if isinstance(value, str):
        return value
    return "NaN" if not np.isfinite(value) else f"{value:.4g}"


def lines(result, indent="  "):
    """The key results as aligned text lines 'label  value units'."""
    rows = key_results(result)
    width = max((len(label) for label, _, _ in rows), default=0)
    return [f"{indent}{label:<{width}}  {_show(v)}{' ' + u if u and u != '1' else ''}" for label, v, u in rows]
