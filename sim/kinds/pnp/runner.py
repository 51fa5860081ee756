"""Runner of `pnp` cases: equilibrium at the case's cathode potential, optional potential sweep."""
from __future__ import annotations

import warnings

import numpy as np

from sim.units import SI
from sim.progress import bar

from sim.errors import MeshWarning, NaNWarning
from sim.io import Q
from sim.pnp import observables as obs
from sim.kinds.pnp.build import build_problem, cathode_layer, cathode_potential
from sim.pnp.newton import SolverOptions, solve_equilibrium
from sim.pnp.carriers import KROGER_VINK_TEXT
from sim.pnp import analytic as an
from sim.errors import CaseError
from sim.case import material_overrides_si
from sim.materials import load_material

DCAP_STEP_V = 0.005
#: dimensions of the datasets (sim.io.Q: the coordinate datasets of their axes)
X, LAYER, SPECIES = ("pnp/x",), ("pnp/layer_names",), ("pnp/species",)
POTENTIAL, BULK = ("pnp/sweep/cathode_potential",), ("pnp/sweep/bulk_potential",)


def _options(params, final_residual=True):
    o = params["solver_options"]
    return SolverOptions(tol=o["tol"], max_iter=o["max_iter"], continuation=o["continuation"],
                         predictor=o["predictor"], final_residual=final_residual)


def solve(params, potential_V=None, start=None, solver=None, seed=None, final_residual=True):
    """(problem, psi, c, stats) at a cathode potential with the case's solver (start, seed: see
    `solve_equilibrium`; final_residual=False: a state whose residual is not reported)."""
    p = build_problem(params, potential_V=potential_V)
    solver = solver or params["solver"]
    opts = _options(params, final_residual)
    if solver == "fipy":
        from sim.pnp.fipy_solver import solve_equilibrium_fipy        # the FiPy backend: loaded when chosen
        psi, c, stats = solve_equilibrium_fipy(p, opts, max_sweeps=params["solver_options"]["fipy_max_sweeps"])
    else:
        psi, c, stats = solve_equilibrium(p, opts, start=start, seed=seed)
    return p, psi, c, stats


NAN_NOTES = {
    "integral_capacitance": "NaN at zero bulk potential (no layer)",
    "saturated_width": "NaN without space charge at the surface or when it does not fall to half within the domain",
    "thickness_1pct": "NaN where the side holds no mobile carrier",
}


def _with_note(attrs, key):
    """attrs plus the note on what NaN means for observable `key`, if it can be NaN."""
    return {**attrs, "note": NAN_NOTES[key]} if key in NAN_NOTES else attrs


def _observable_q(prefix, ev):
    out = {f"{prefix}/contact_potential": Q(ev["contact_potential"], "V", {"meaning": "phi(x=0) - phi(x=L)"}),
           f"{prefix}/total_excess_resistance": Q(ev["total_excess_resistance"] / SI["ohm cm^2"], "ohm cm^2",
                                                {"meaning": "sum of the space-charge excess resistances over every side of every interface",
                                                 "note": "NaN where the excess resistance of a side is NaN (its nan_reason)"}),
           f"{prefix}/interlayer_bulk_resistance": Q(ev["interlayer_bulk_resistance"] / SI["ohm cm^2"], "ohm cm^2", {
               "meaning": "bulk resistance L / sigma of the layers between the outer two (buffer layers)"}),
           f"{prefix}/total_interfacial_resistance": Q(ev["total_interfacial_resistance"] / SI["ohm cm^2"], "ohm cm^2", {
               "meaning": "total_excess_resistance + interlayer_bulk_resistance: what the interfaces, buffers "
                          "included, add to the stack's bulk resistance",
               "note": "NaN where the excess resistance of a side is NaN (its nan_reason)"})}
    surf = ev.get("surface")
    if surf:
        a = {"meaning": "one-sided double layer at x = 0"}
        units = {"bulk_potential": "V", "scl_charge": "C/m^2", "electrode_charge": "C/m^2",
                 "integral_capacitance": "F/m^2", "saturated_width": "m", "thickness_1pct": "m",
                 "excess_resistance": "ohm cm^2", "length": "m"}
        for k, u in units.items():
            attrs = _excess_attrs(a, surf["excess_resistance_reason"]) if k == "excess_resistance" else _with_note(a, k)
            out[f"{prefix}/surface/{k}"] = Q(surf[k] * (1 / SI["ohm cm^2"] if k == "excess_resistance" else 1.0), u, attrs)
    for i, it in enumerate(ev["interfaces"]):
        g = f"{prefix}/interface_{i}"
        out[f"{g}/position"] = Q(it["position"], "m", {"interface": it["name"]})
        out[f"{g}/potential"] = Q(it["potential"], "V", {"interface": it["name"]})
        for side in ("left", "right"):
            v = it[side]
            a = {"interface": it["name"], "side": side}
            out[f"{g}/{side}/potential_drop"] = Q(v["potential_drop"], "V", a)
            out[f"{g}/{side}/charge"] = Q(v["charge"], "C/m^2", a)
            out[f"{g}/{side}/thickness_1pct"] = Q(v["thickness_1pct"], "m", _with_note(a, "thickness_1pct"))
            out[f"{g}/{side}/thickness_moment"] = Q(v["thickness_moment"], "m", a)
            out[f"{g}/{side}/excess_resistance"] = Q(v["excess_resistance"] / SI["ohm cm^2"], "ohm cm^2", _excess_attrs(a, v["excess_resistance_reason"]))
    return out


def _excess_attrs(attrs, reason):
    """attrs of an excess resistance: what it is, and why it is NaN where it is."""
    out = {**attrs, "meaning": "space-charge excess resistance over the bulk, sum (1/sigma - 1/sigma_bulk) dx "
                               "(negative: the layer conducts better than the bulk)"}
    if reason:
        out["nan_reason"] = reason
    return out


def excess_warnings(ev, where=""):
    """One line per side whose excess resistance is NaN, saying why (the CLI prints warnings)."""
    sides = [(f"interface {i} ({it['name']}), {side}", it[side]["excess_resistance_reason"])
             for i, it in enumerate(ev["interfaces"]) for side in ("left", "right")]
    if ev.get("surface"):
        sides.append(("surface layer", ev["surface"]["excess_resistance_reason"]))
    for name, why in sides:
        if why:
            warnings.warn(f"{where}excess resistance of the {name} is NaN: {why}", NaNWarning, stacklevel=3)


CAPACITANCE_NAN = ("NaN where the contact potential does not change between the points (the cathode potential "
                   "does not reach the Li+ level, e.g. cathode.ionic_fraction = 0)")


def _capacitance(q, phi):
    """|dQ/dphi| at every point of (q, phi): central differences inside, one-sided at the ends (two points:
    their difference quotient at both); NaN where phi does not change."""
    idx = np.arange(len(q))
    lo, hi = np.maximum(idx - 1, 0), np.minimum(idx + 1, len(q) - 1)
    dq, dp = q[hi] - q[lo], phi[hi] - phi[lo]
    scale = max(1e-300, float(np.max(np.abs(phi))))
    ok = np.abs(dp) > 1e-12 * scale
    return np.where(ok, np.abs(dq / np.where(ok, dp, 1.0)), np.nan)


def _along_sweep(flat, prefix, dims):
    """{prefix/key: Q of the values along a sweep (dimension `dims`)} from the observables of each point
    ({"x/key": Q}); a NaN reason of any point is kept (with how many points it concerns)."""
    out = {}
    for key in flat[0]:
        vals = np.array([float(f[key].value) for f in flat])
        attrs = {k: v for k, v in flat[0][key].attrs.items() if k != "nan_reason"}
        reasons = [f[key].attrs["nan_reason"] for f in flat if "nan_reason" in f[key].attrs]
        if reasons:
            attrs["nan_reason"] = f"at {len(reasons)} of {len(flat)} points: {reasons[0]}"
        out[prefix + key[1:]] = Q(vals, flat[0][key].units, attrs, dims)
    return out


def _sweep_nan_warning(reasons, what):
    """One line when excess resistances along a sweep are NaN."""
    bad = [r for r in reasons if r]
    if bad:
        warnings.warn(f"{what}: {len(bad)} of {len(reasons)} excess resistances are NaN ({bad[0]})", NaNWarning,
                      stacklevel=3)


def _species_attrs(p):
    """Kroger-Vink names and bulk conductivity of every layer."""
    sigma = obs.bulk_conductivity(p)
    first = p.mesh.layer_faces[:-1]           # the first cell of each layer
    return {"pnp/species_kroger_vink": Q(np.array([KROGER_VINK_TEXT.get(s, s) for s in p.species]), "", dims=SPECIES),
            "pnp/layer_bulk_conductivity": Q(np.array([float(sigma[k]) for k in first]), "S/m",
                                             {"meaning": "(F^2/RT) sum z^2 D c (1 - theta) of the bulk, per layer"},
                                             dims=LAYER)}


def _frenkel_reference(p, surf):
    """The exact first integral of the Frenkel double layer and Swift & Qi's two-region width,
    next to the computed values."""
    T, V_T = p.temperature_K, p.thermal_voltage
    s = p.species.index("Li_i")
    aN = float(p.c_max[s, -1])
    th = float(p.c_bulk[s, -1] / p.c_max[s, -1])
    E = V_T * np.log((1 - th) / th)                  # with alpha = 1 and N -> alpha N
    args = (surf["bulk_potential"], aN, E, float(p.eps_r[-1]), 1.0, T)
    q = float(an.frenkel_charge(*args))
    x1 = float(an.frenkel_saturated_width(*args))
    a = {"meaning": "exact first integral of the Frenkel model (docs/theory.md)"}
    rel = abs(surf["scl_charge"]) / q - 1 if q > 0 else np.nan
    return {"pnp/verification/first_integral_charge": Q(q, "C/m^2", a),
            "pnp/verification/charge_relative_error": Q(rel, "1", {**a, "note": "NaN when the exact charge is "
                                                                       "zero (no potential step, no layer)"}),
            "pnp/verification/two_region_width": Q(x1, "m", {"meaning": "x1 = |Q| / (F alpha N), Swift & Qi"})}


def _cathode_charge(ev):
    """Space charge on the cathode side of the first interface (C/m^2)."""
    return ev["interfaces"][0]["left"]["charge"] if ev["interfaces"] else np.nan


def run(params, case_dir=None):
    U0 = cathode_potential(params)
    p, psi, c, stats = solve(params, U0)
    report, mesh_warnings = obs.mesh_report(p)
    for w in mesh_warnings:
        warnings.warn(w, MeshWarning, stacklevel=2)
    ev = obs.evaluate(p, psi, c, w=stats.w)
    excess_warnings(ev)
    V_T = p.thermal_voltage
    out = {
        "pnp/x": Q(p.mesh.centers, "m", {"meaning": "cell centres"}, dims=X),
        "pnp/x_faces": Q(p.mesh.faces, "m", dims=("pnp/x_faces",)),
        "pnp/layer_index": Q(p.mesh.layer_of_cell, "1", dims=X),
        "pnp/layer_names": Q(np.array(p.layer_names), "", dims=LAYER),
        "pnp/interfaces": Q(p.mesh.interfaces, "m", dims=("pnp/interfaces",)),
        "pnp/phi": Q(psi * V_T, "V", dims=X),
        "pnp/species": Q(np.array(p.species), "", dims=SPECIES),
        "pnp/cathode_potential": Q(np.nan if U0 is None else U0, "V", {"meaning": "vs Li/Li+; NaN: material reference"}),
        "pnp/solver/name": Q(params["solver"], ""),
        "pnp/temperature": Q(p.temperature_K, "K"),
        "pnp/mobility_law": Q(np.array(p.mobility_names()), "", {
            "meaning": "mobility law of each species (rows, in the order of pnp/species) in each layer (columns, "
                       "in the order of pnp/layer_names): size_exclusion m = 1 - theta, vacancy_hop m = 1 - alpha "
                       "theta, unscaled m = 1 (docs/theory.md)"}, dims=SPECIES + LAYER),
        "pnp/solver/newton_iterations": Q(stats.newton_iterations, "1"),
        "pnp/solver/final_residual": Q(stats.final_residual, "1", {"meaning": "max scaled residual"}),
        "pnp/solver/wall_time": Q(stats.wall_time_s, "s"),
        "pnp/mesh/n_cells": Q(p.n, "1"),
        "pnp/mesh/layer_cells": Q(np.array([r["cells"] for r in report]), "1", dims=LAYER),
        "pnp/mesh/layer_h_min": Q(np.array([r["h_min"] for r in report]), "m", dims=LAYER),
        "pnp/mesh/layer_h_max": Q(np.array([r["h_max"] for r in report]), "m", dims=LAYER),
        "pnp/mesh/layer_debye_length": Q(np.array([r["debye_length"] for r in report]), "m", dims=LAYER),
        "pnp/mesh/warnings": Q(np.array(mesh_warnings or [""]), "", dims=("pnp/mesh/warnings",)),
        "pnp/observables/end_fields": Q(np.array(ev["end_fields"]), "V/m", {"meaning": "field at the outer faces"},
                                        dims=("pnp/observables/end_fields",)),
    }
    for s, name in enumerate(p.species):
        out[f"pnp/c/{name}"] = Q(c[s], "mol/m^3", {"meaning": "0 where the species is absent"}, X, f"pnp/c_{name}")
        out[f"pnp/c_bulk/{name}"] = Q(p.c_bulk[s], "mol/m^3", dims=X, alias=f"pnp/c_bulk_{name}")
    out.update(_observable_q("pnp/observables", ev))
    out.update(_species_attrs(p))
    if ev.get("surface") and "Li_i" in p.species:
        out.update(_frenkel_reference(p, ev["surface"]))
    has_ref = _cathode_has_reference(params)
    if has_ref and ev["interfaces"]:
        Ub = U0 if U0 is not None else _reference_potential(params)
        p0, psi0, c0, _ = solve(params, Ub - DCAP_STEP_V, seed=psi, final_residual=False)
        # the second neighbour starts from the line through the first and the state: one iteration fewer
        p1, psi1, c1, _ = solve(params, Ub + DCAP_STEP_V, seed=2 * psi - psi0, final_residual=False)
        (q0, phi0), (q1, phi1) = (obs.first_interface_left_charge(*s) for s in ((p0, psi0, c0), (p1, psi1, c1)))
        dcap = float(_capacitance(np.array([q0, q1]), np.array([phi0, phi1]))[0])
        out["pnp/observables/differential_capacitance"] = Q(dcap, "F/m^2", {
            "meaning": "|dQ/d(dphi)|: cathode-side SCL charge of the first interface vs the contact potential",
            "step_V": 2 * DCAP_STEP_V, **({"nan_reason": CAPACITANCE_NAN} if np.isnan(dcap) else {})})
    sw = params["sweep"]
    if sw.get("potential_V") is not None:
        if not has_ref:
            raise CaseError(None, "sweep.potential_V", sw["potential_V"], "the cathode material has no reference_potential")
        out.update(_sweep(params, np.linspace(*sw["potential_V"], sw["points"]), (psi, c)))
    if sw.get("bulk_potential_V") is not None:
        out.update(_surface_sweep(params, np.linspace(*sw["bulk_potential_V"], sw["points"])))
    if params["transient"].get("protocol"):
        from sim.kinds.pnp.transient import run as run_transient      # optional feature: loaded when used
        out.update(run_transient(params))
    if params["impedance"].get("temperatures_K") is not None:
        from sim.kinds.pnp.impedance import run as run_impedance      # scipy.optimize: loaded when used
        out.update(run_impedance(params, case_dir))
    return out


def _surface_sweep(params, phi0s):
    """Surface observables of a one-sided double layer against its bulk potential."""
    import copy
    rows = []
    for v in bar(phi0s, desc="bulk-potential sweep", unit="pt", leave=False, disable=None):
        prm = copy.deepcopy(params)
        prm["surface"]["bulk_potential_V"] = float(v)
        p, psi, c, st = solve(prm)
        rows.append(obs.evaluate(p, psi, c, w=st.w)["surface"])
    _sweep_nan_warning([r["excess_resistance_reason"] for r in rows], "bulk-potential sweep")
    out = {"pnp/sweep/bulk_potential": Q(phi0s, "V", {"meaning": "phi(bulk) - phi(surface)"}, BULK)}
    for key, unit in (("scl_charge", "C/m^2"), ("integral_capacitance", "F/m^2"), ("saturated_width", "m"),
                      ("thickness_1pct", "m"), ("excess_resistance", "ohm cm^2")):
        scale = 1 / SI["ohm cm^2"] if key == "excess_resistance" else 1.0
        attrs = _with_note({}, key)
        if key == "excess_resistance":
            reasons = [r["excess_resistance_reason"] for r in rows if r["excess_resistance_reason"]]
            attrs = _excess_attrs({}, f"at {len(reasons)} of {len(rows)} points: {reasons[0]}" if reasons else "")
        out[f"pnp/sweep/observables/surface/{key}"] = Q(np.array([r[key] for r in rows]) * scale, unit, attrs, BULK)
    if "Li_i" in p.species:
        out["pnp/sweep/first_integral_charge"] = Q(
            np.array([_frenkel_reference(p, dict(r))["pnp/verification/first_integral_charge"].value for r in rows]),
            "C/m^2", {"meaning": "exact first integral of the Frenkel model"}, BULK)
    return out


def _reference_potential(params):
    layer = params["layers"][cathode_layer(params)]
    mat = load_material(layer["material"], material_overrides_si(params["materials"]).get(layer["material"]))
    return mat["reference_potential"]


def _cathode_has_reference(params):
    layer = params["layers"][cathode_layer(params)]
    if layer.get("material") is None:
        return False
    try:
        _reference_potential(params)
        return True
    except KeyError:
        return False


def _sweep(params, U, start):
    rows, phis, cs = [], [], []
    state = start
    for u in bar(U, desc="potential sweep", unit="pt", leave=False, disable=None):
        p, psi, c, st = solve(params, float(u), start=state)
        state = (psi, c, st.w)
        rows.append(obs.evaluate(p, psi, c, w=st.w))
        phis.append(psi * p.thermal_voltage)
        cs.append(c)
    _sweep_nan_warning([it[side]["excess_resistance_reason"] for r in rows for it in r["interfaces"] for side in ("left", "right")],
                       "potential sweep")
    out = {"pnp/sweep/cathode_potential": Q(U, "V", {"meaning": "vs Li/Li+"}, POTENTIAL),
           "pnp/sweep/phi": Q(np.array(phis), "V", dims=POTENTIAL + X)}
    cs = np.array(cs)
    for s, name in enumerate(p.species):
        out[f"pnp/sweep/c/{name}"] = Q(cs[:, s], "mol/m^3", dims=POTENTIAL + X, alias=f"pnp/sweep/c_{name}")
    # observables along the sweep
    out.update(_along_sweep([_observable_q("x", r) for r in rows], "pnp/sweep/observables", POTENTIAL))
    q = np.array([_cathode_charge(r) for r in rows])
    dphi = np.array([r["contact_potential"] for r in rows])
    dcap = _capacitance(q, dphi)
    out["pnp/sweep/observables/differential_capacitance"] = Q(dcap, "F/m^2", {
        "meaning": "|dQ/d(dphi)| along the sweep (central differences, one-sided at the ends)",
        **({"nan_reason": CAPACITANCE_NAN} if np.isnan(dcap).any() else {})}, POTENTIAL)
    return out
