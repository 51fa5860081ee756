"""Impedance spectra of a `pnp` case over a list of temperatures, with equivalent-circuit fits.

For each temperature the case is rebuilt at that temperature (Arrhenius conductivities), its
steady state is solved (equilibrium, or a DC current bias for Li-exchanging electrodes), and the
spectrum comes from `sim.pnp.impedance`.  Electrodes:

  li_exchanging  Li+ enters at x = 0 (the transient boundary conditions), reservoir at x = L;
                 Z = d eta_Li(cell 0) / dI
  blocking       Dirichlet potentials at both ends, every species blocked
  reversible     Dirichlet potentials and bulk concentrations at both ends
"""
from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path

import numpy as np

from sim.errors import CaseError
from sim.io import Q
from sim.pnp import circuits as cc
from sim.pnp import impedance as imp
from sim.pnp import observables as obs
from sim.kinds.pnp.build import build_problem, galvanostatic_problem
from sim.pnp.newton import SolverOptions, newton, solve_equilibrium
from sim.pnp import operator as op
from sim.units import FARADAY, to_si, SI


def steady_state(params, T):
    """(problem, psi, c, w) of the case at temperature T under the chosen electrodes."""
    prm = copy.deepcopy(params)
    prm["temperature_K"] = float(T)
    ip = prm["impedance"]
    base = build_problem(prm)
    o = prm["solver_options"]
    opts = SolverOptions(tol=o["tol"], max_iter=o["max_iter"], continuation=o["continuation"], predictor=o["predictor"])
    psi, c, st = solve_equilibrium(base, opts)
    if ip["electrodes"] == "li_exchanging":
        # the same equilibrium under the transient boundary conditions: the open problem's, confirmed
        p = galvanostatic_problem(base)
        psi, c, st = solve_equilibrium(p, opts, start=(psi, c, st.w))
    else:
        p = base
    w = st.w
    J = to_si(ip["bias_current_density_mA_cm2"], "mA/cm^2")[0]
    if J != 0.0:
        if ip["electrodes"] != "li_exchanging":
            raise CaseError(None, "impedance.bias_current_density_mA_cm2", ip["bias_current_density_mA_cm2"],
                            "a DC bias needs electrodes = 'li_exchanging'")
        s = obs.li_index(p)
        g = op.geometry(p)
        for frac in (0.25, 0.5, 0.75, 1.0):            # ramp the current
            flux = np.zeros((2, p.n_species))
            flux[0, s] = frac * J / (p.z[s] * FARADAY)
            psi, c = newton(p, g, psi, c, opts, st, boundary_flux_in=flux, w=w)
            w = st.w
    if ip["electrodes"] == "blocking":
        p = replace(p, c_bc=np.full_like(p.c_bc, np.nan), closed=False)
    return p, psi, c, w


def spectrum(params, T):
    """(frequencies (Hz), Z (ohm m^2), problem, psi, c, w) at temperature T."""
    ip = params["impedance"]
    f = imp.frequencies(ip["frequency_min_Hz"], ip["frequency_max_Hz"], ip["points_per_decade"])
    p, psi, c, w = steady_state(params, T)
    if ip["electrodes"] == "li_exchanging":
        Z = imp.current_drive(p, psi, c, f, obs.li_index(p), w=w)
    else:
        Z = imp.voltage_drive(p, psi, c, f, w=w)
    return f, Z, p, psi, c, w


def read_measured(path, case_dir=None):
    """A measured spectrum: CSV with columns f (Hz), Z' and Z'' (ohm cm^2), '#' comments."""
    import io
    from sim import inputs
    path = Path(path)
    if case_dir is not None and not path.is_absolute():
        path = Path(case_dir) / path
    text = inputs.read_text(path, "csv", lambda why: CaseError(None, "impedance.measured_csv", str(path),
                                                                 f"{path.name}: {why}"))
    try:                                          # a regular file of bounded size, read once (sim.inputs)
        data = np.loadtxt(io.StringIO(text), delimiter=",", comments="#", ndmin=2)
    except ValueError as e:
        raise CaseError(None, "impedance.measured_csv", str(path), f"cannot read: {e}") from None
    if data.shape[1] < 3 or data.shape[0] < 3:
        raise CaseError(None, "impedance.measured_csv", str(path), "needs at least 3 rows of f_Hz, z_real, z_imag")
    if not np.all(np.isfinite(data)) or np.any(data[:, 0] <= 0):
        raise CaseError(None, "impedance.measured_csv", str(path), "values must be finite and f > 0")
    return data[:, 0], (data[:, 1] + 1j * data[:, 2]) * SI["ohm cm^2"]


def _fit(circuit, f, Z, start=None):
    """Fit from `start` (the previous temperature's parameters, so that each element keeps its
    meaning along the Arrhenius plot) and from the spectrum's own guess; the better one is kept."""
    best = None
    for guess in ([start] if start is not None else []) + [cc.initial_guess(circuit, f, Z)]:
        try:
            p, se, rms = cc.fit(circuit, f, Z, guess)
        except (ValueError, np.linalg.LinAlgError):
            continue
        if best is None or rms < 0.8 * best[2]:
            best = (p, se, rms)
    return best


def _fit_q(prefix, circuit, fitted):
    out = {}
    p, se, rms = fitted
    for (name, unit), v, e in zip(cc.parameter_names(circuit), p, se):
        scale = 1 / SI["ohm cm^2"] if unit == "ohm m^2" else 1.0
        shown = "ohm cm^2" if unit == "ohm m^2" else unit
        out[f"{prefix}/{name}"] = Q(v * scale, shown, {"standard_error": e * scale})
    out[f"{prefix}/relative_rms_residual"] = Q(rms, "1", {"meaning": "rms of (Z_fit - Z)/|Z|"})
    return out


def run(params, case_dir=None):
    ip = params["impedance"]
    temps = ip["temperatures_K"]
    n_if = len(params["layers"]) - 1
    circuit = ip["circuit"] if ip["circuit"] != "auto" else cc.default_circuit(max(n_if, 1))
    try:
        cc.parse(circuit)
    except ValueError as e:
        raise CaseError(None, "impedance.circuit", circuit, str(e)) from None
    T_DIM = ("pnp/impedance/temperature",)           # dimensions (sim.io.Q): the temperatures of the spectra
    out = {"pnp/impedance/temperature": Q(np.array(temps, float), "K", dims=T_DIM),
           "pnp/impedance/circuit": Q(circuit, "", {"meaning": "fitted equivalent circuit (sim.pnp.circuits)"}),
           "pnp/impedance/electrodes": Q(ip["electrodes"], ""),
           "pnp/impedance/amplitude": Q(ip["amplitude_mV"] * 1e-3, "V", {"meaning": "nominal; the response is linear"})}
    names = [n for n, u in cc.parameter_names(circuit) if u == "ohm m^2"]
    fitted_R = {n: [] for n in names}
    dc, rscl, spectra, fits = [], [], [], []
    previous = None
    for T in temps:
        f, Z, p, psi, c, w = spectrum(params, T)
        spectra.append((f, Z))
        g = f"pnp/impedance/T_{T:.2f}K"
        out[f"{g}/frequency"] = Q(f, "Hz", dims=(f"{g}/frequency",))
        out[f"{g}/z_real"] = Q(Z.real / SI["ohm cm^2"], "ohm cm^2", dims=(f"{g}/frequency",))
        out[f"{g}/z_imag"] = Q(Z.imag / SI["ohm cm^2"], "ohm cm^2", dims=(f"{g}/frequency",))
        rr, ri, M = cc.lin_kk(f, Z, capacitive=ip["electrodes"] == "blocking")
        out[f"{g}/kramers_kronig_residual"] = Q(max(np.max(np.abs(rr)), np.max(np.abs(ri))), "1",
                                                {"meaning": "max Lin-KK residual / |Z|", "rc_elements": M})
        fits.append(_fit(circuit, f, Z, previous))
        previous = fits[-1][0] if fits[-1] is not None else previous
        dc.append(Z[np.argmin(f)].real / SI["ohm cm^2"])
        ev = obs.evaluate(p, psi, c, w=w)
        rscl.append(ev["total_excess_resistance"] / SI["ohm cm^2"])
    # second pass, from the other end: a fit that a neighbour's parameters (scaled by the ratio of
    # the low-frequency resistances) improves is replaced, so elements keep their meaning along T
    is_R = np.array([u == "ohm m^2" for _, u in cc.parameter_names(circuit)])
    for i in range(len(temps) - 2, -1, -1):
        if fits[i + 1] is None:
            continue
        start = np.where(is_R, fits[i + 1][0] * dc[i] / dc[i + 1], fits[i + 1][0])
        better = _fit(circuit, *spectra[i], start)
        if better is not None and (fits[i] is None or better[2] < 0.8 * fits[i][2]):
            fits[i] = better
    for T, fitted in zip(temps, fits):
        g = f"pnp/impedance/T_{T:.2f}K"
        if fitted is not None:
            out.update(_fit_q(f"{g}/fit", circuit, fitted))
        for n, v in zip([n for n, _ in cc.parameter_names(circuit)], fitted[0] if fitted else [np.nan] * is_R.size):
            if n in fitted_R:
                fitted_R[n].append(v / SI["ohm cm^2"])
    out["pnp/impedance/low_frequency_resistance"] = Q(np.array(dc), "ohm cm^2", {"meaning": "Re Z at the lowest frequency"},
                                                      T_DIM)
    out["pnp/impedance/dc_excess_resistance"] = Q(np.array(rscl), "ohm cm^2",
                                      {"meaning": "sum of the space-charge excess resistances of the steady-state profile (the DC estimate)"}, T_DIM)
    for n, vals in fitted_R.items():
        out[f"pnp/impedance/fit_resistance/{n}"] = Q(np.array(vals), "ohm cm^2", {"circuit": circuit,
                                                      "note": "NaN at a temperature where the fit failed"}, T_DIM)
    if ip.get("measured_csv"):
        fm, Zm = read_measured(ip["measured_csv"], case_dir)
        F_DIM = ("pnp/impedance/measured/frequency",)
        out["pnp/impedance/measured/frequency"] = Q(fm, "Hz", dims=F_DIM)
        out["pnp/impedance/measured/z_real"] = Q(Zm.real / SI["ohm cm^2"], "ohm cm^2", dims=F_DIM)
        out["pnp/impedance/measured/z_imag"] = Q(Zm.imag / SI["ohm cm^2"], "ohm cm^2", dims=F_DIM)
        fitted = _fit(circuit, fm, Zm)
        if fitted is not None:
            out.update(_fit_q("pnp/impedance/measured/fit", circuit, fitted))
    return out
