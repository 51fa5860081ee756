"""Transient part of `pnp` cases: runs under current (or overpotential) from equilibrium."""
from __future__ import annotations

import numpy as np
from dataclasses import replace
from sim.progress import bar

from sim.io import Q
from sim.pnp import observables as obs
from sim.pnp.carriers import cathode_li_level_shift, li_level_signs
from sim.pnp import transient as tr
from sim.kinds.pnp.build import build_problem, cathode_layer, galvanostatic_problem, ocv_table
from sim.pnp.newton import SolverOptions, solve_equilibrium
from sim.units import FARADAY, SI
from sim.pnp.fipy_solver import make_fipy_newton
from sim.pnp import operator as op



def _newton_fn(params):
    if params["solver"] == "fipy":
        return make_fipy_newton(params["solver_options"]["fipy_max_sweeps"])
    return None


def _protocols(params, li, eta_eq):
    t = params["transient"]
    if t["protocol"] == "galvanostatic":
        return [(f"{j:g} mA/cm²", j, tr.Galvanostatic(j * SI["mA/cm^2"], li)) for j in t["current_densities_mA_cm2"]]
    if t["protocol"] == "potentiostatic":
        return [(f"{v:g} V", v, tr.Potentiostatic(v, eta_eq, li)) for v in t["overpotentials_V"]]
    table = tr.CurrentTable(t["table_time_s"], np.array(t["table_current_density_mA_cm2"]) * SI["mA/cm^2"], li)
    return [("current table", np.nan, table)]


def _soc(params, p, li):
    cat = params["cathode"]
    if cat.get("areal_capacity_mAh_cm2") is None:
        return None
    k = list(params["layers"]).index(cathode_layer(params))
    x, V = ocv_table(params)
    f, T = cat.get("ionic_fraction"), params["temperature_K"]
    return tr.CathodeSOC(cells=p.mesh.layer_of_cell == k, species=li, x0=cat["x_li"],
                         capacity_C_m2=cat["areal_capacity_mAh_cm2"] * SI["mAh/cm^2"], ocv_x=x, ocv_V=V,
                         signs=np.array(li_level_signs(p.species)),
                         level_shift=lambda U, xl: cathode_li_level_shift(U, xl, 0.0, 0.5, T, ionic_fraction=f))


def _options(params):
    t, o = params["transient"], params["solver_options"]
    return tr.TimeOptions(method=t["method"], rtol=t["rtol"], atol_psi=t["atol_psi"], atol_c=t["atol_c"],
                          dt_initial=t["dt_initial_s"], max_steps=t["max_steps"],
                          newton=SolverOptions(tol=max(o["tol"], 1e-10), max_iter=25))


def run(params):
    t = params["transient"]
    open_problem = build_problem(params)
    base = galvanostatic_problem(open_problem)
    li = obs.li_index(base)
    o = params["solver_options"]
    opts0 = SolverOptions(tol=o["tol"], max_iter=o["max_iter"], continuation=o["continuation"])
    # the equilibrium of the open problem (its predictor) is the equilibrium under the transient's boundary
    # conditions with the open one's inventories (not the bulk's: they differ by the space charge), confirmed
    # there by one Newton iteration
    psi0, c0, st = solve_equilibrium(open_problem, opts0)
    base = replace(base, inventory_c=c0)
    psi0, c0, _ = solve_equilibrium(base, opts0, start=(psi0, c0, st.w))
    eta_eq = float(np.nanmean(obs.eta_li(base, psi0, c0, li)))
    soc = _soc(params, base, li)
    U0 = soc.potential(0.0)[0] if soc else np.nan
    log_t = np.geomspace(t["first_output_s"], t["duration_s"], t["output_points"] - 1)
    lin_t = np.linspace(0.0, t["duration_s"], t["linear_output_points"] + 1)[1:]
    times = np.unique(np.concatenate([[0.0], log_t, lin_t]))
    times[-1] = t["duration_s"]
    runs = _protocols(params, li, eta_eq)
    opts = _options(params)
    newton_fn = _newton_fn(params)
    series = []
    for label, value, proto in bar(runs, desc="transients", unit="run", leave=False, disable=None):
        rec = {"phi": [], "c": [], "ev": [], "vb": [], "J": [], "U": [], "q": []}
        g = None

        def record(time_s, p_t, psi, c, rec=rec, proto=proto):
            nonlocal g
            g = g or op.geometry(p_t)
            Nb = op.boundary_fluxes(p_t, g, psi, c)
            J_meas = FARADAY * float(np.sum(p_t.z * Nb[1]))     # ionic current into the reservoir
            q = proto.charge(time_s)
            rec["phi"].append(psi * p_t.thermal_voltage)
            rec["c"].append(c.copy())
            rec["ev"].append(obs.evaluate(p_t, psi, c))
            rec["vb"].append(obs.voltage_breakdown(p_t, psi, c, J_meas))
            rec["J"].append(J_meas)
            rec["U"].append(soc.potential(q if q is not None else 0.0)[0] if soc else np.nan)
            rec["q"].append(obs.inventory(p_t, c))

        def stop(time_s, p_t, psi, c, proto=proto):
            if t.get("cutoff_voltage_V") is None:
                return False
            q = proto.charge(time_s)
            ocv = soc.potential(q if q is not None else 0.0)[0] if soc else 0.0
            return ocv + obs.overpotential(p_t, psi, c) > t["cutoff_voltage_V"]

        rec["t"] = []
        record_t = record

        def record(time_s, p_t, psi, c, rec=rec):
            rec["t"].append(time_s)
            record_t(time_s, p_t, psi, c)

        _, _, stats = tr.integrate(base, psi0, c0, proto, t["duration_s"], output_times=times[1:], opts=opts,
                                   soc=soc, newton_fn=newton_fn, record=record, stop=stop)
        series.append((label, value, rec, stats))
    return _to_q(base, times, series, U0)


def _to_q(p, times, series, U0):
    n_if = len(series[0][2]["ev"][0]["interfaces"])
    after_stop = "NaN after a run's last stored state (runs ended by a cutoff are shorter)"
    # the `dims` attribute declares each axis's coordinate dataset (sim.io.Q): runs by set point, output times
    dims = {"dims": "pnp/transient/setpoint pnp/time", "note": after_stop}
    out = {"pnp/time": Q(times, "s", dims=("pnp/time",)),
           "pnp/transient/run_label": Q(np.array([s[0] for s in series]), "", dims=("pnp/transient/setpoint",)),
           "pnp/transient/setpoint": Q(np.array([s[1] for s in series], float),
                                       "mA/cm^2" if "mA" in series[0][0] else "V",
                                       {"meaning": "current density or overpotential of each run"},
                                       dims=("pnp/transient/setpoint",))}

    def arr(fn):
        """(run, time) array; NaN after a run stopped early (voltage cutoff)."""
        return np.array([[fn(rec, k) if k < len(rec["t"]) else np.nan for k in range(len(times))]
                         for _, _, rec, _ in series])

    def field_arr(fn):
        n = p.n
        return np.array([[fn(rec, k) if k < len(rec["t"]) else np.full(n, np.nan) for k in range(len(times))]
                         for _, _, rec, _ in series])

    vb = lambda key: arr(lambda r, k: r["vb"][k][key])
    ocv = arr(lambda r, k: r["U"][k])
    total = vb("total")
    out["pnp/transient/current_density"] = Q(arr(lambda r, k: r["J"][k]) / SI["mA/cm^2"], "mA/cm^2",
                                             {**dims, "meaning": "ionic current into the reservoir at x = L"})
    out["pnp/transient/overpotential"] = Q(total, "V", {**dims, "meaning": "(eta_Li(x=0) - eta_Li(reservoir)) / e"})
    out["pnp/transient/ocv"] = Q(ocv, "V", {**dims, "meaning": "cathode OCV at the current state of charge; "
                                            "NaN without cathode.areal_capacity_mAh_cm2 (and after a run's end)"})
    out["pnp/transient/voltage"] = Q(np.where(np.isnan(ocv), 0.0, ocv) + total, "V", {
        **dims, "meaning": "ocv + overpotential (overpotential alone when no OCV is given)"})
    out["pnp/transient/breakdown/bulk_ohmic"] = Q(vb("bulk_ohmic"), "V", dims)
    out["pnp/transient/breakdown/contact_potential"] = Q(arr(lambda r, k: r["ev"][k]["contact_potential"]), "V", {
        **dims, "meaning": "phi(0) - phi(L); its t = 0 value is the equilibrium contact potential"})
    for i in range(n_if):
        g = f"pnp/transient/breakdown/interface_{i}"
        a = {**dims, "interface": series[0][2]["ev"][0]["interfaces"][i]["name"]}
        out[f"{g}/kinetic"] = Q(arr(lambda r, k: r["vb"][k]["interfaces"][i]["kinetic"]), "V", a)
        for side in ("left", "right"):
            sa = {**a, "side": side}
            out[f"{g}/{side}/scl"] = Q(arr(lambda r, k: r["vb"][k]["interfaces"][i][side]), "V", {
                **sa, "meaning": "eta drop of the side above its bulk ohmic drop: scl_excess + concentration"})
            out[f"{g}/{side}/scl_excess"] = Q(arr(lambda r, k: r["vb"][k]["interfaces"][i][side + "_excess"]), "V", {
                **sa, "meaning": "J times the excess resistance of the side's conductivity profile at that time"})
            out[f"{g}/{side}/concentration"] = Q(arr(lambda r, k: r["vb"][k]["interfaces"][i][side + "_concentration"]),
                                                 "V", {**sa, "meaning": "diffusion (concentration) polarization: the "
                                                       "eta drop less J sum dx / sigma of the side"})
            o = f"pnp/transient/observables/interface_{i}/{side}"
            out[f"{o}/thickness_1pct"] = Q(arr(lambda r, k: r["ev"][k]["interfaces"][i][side]["thickness_1pct"]), "m",
                                           {**sa, "note": after_stop + "; NaN where the side holds no mobile carrier"})
            out[f"{o}/charge"] = Q(arr(lambda r, k: r["ev"][k]["interfaces"][i][side]["charge"]), "C/m^2", sa)
            out[f"{o}/excess_resistance"] = Q(arr(lambda r, k: r["ev"][k]["interfaces"][i][side]["excess_resistance"]) / SI["ohm cm^2"], "ohm cm^2", sa)
    out["pnp/transient/observables/total_excess_resistance"] = Q(
        arr(lambda r, k: r["ev"][k]["total_excess_resistance"]) / SI["ohm cm^2"], "ohm cm^2", dims)
    out["pnp/transient/time"] = Q(arr(lambda r, k: r["t"][k]), "s", {
        **dims, "meaning": "time of each stored state; the last one of a run ended by the cutoff is the stop time"})
    out["pnp/transient/phi"] = Q(field_arr(lambda r, k: r["phi"][k]), "V", {"dims": "pnp/transient/setpoint pnp/time pnp/x", "note": after_stop})
    for s, name in enumerate(p.species):
        out[f"pnp/transient/c/{name}"] = Q(field_arr(lambda r, k, s=s: r["c"][k][s]), "mol/m^3",
                                           {"dims": "pnp/transient/setpoint pnp/time pnp/x", "note": after_stop},
                                           alias=f"pnp/transient/c_{name}")
        out[f"pnp/transient/inventory/{name}"] = Q(arr(lambda r, k: r["q"][k][s]), "mol/m^2", dims)
    for key, unit in (("accepted_steps", "1"), ("rejected_steps", "1"), ("newton_iterations", "1"),
                      ("wall_time_s", "s"), ("smallest_step_s", "s"), ("largest_step_s", "s"),
                      ("stopped_at", "s")):
        out[f"pnp/transient/stats/{key[:-2] if key.endswith('_s') else key}"] = Q(
            np.array([getattr(st, key) for *_, st in series]), unit,
            {"meaning": "time a stop condition ended the run; NaN: none did"} if key == "stopped_at" else {},
            ("pnp/transient/setpoint",))
    out["pnp/transient/initial_cathode_potential"] = Q(U0, "V", {"note": "NaN without cathode.areal_capacity_mAh_cm2"})
    return out
