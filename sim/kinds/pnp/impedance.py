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
import re
from dataclasses import replace
from pathlib import Path

import numpy as np

import warnings

from sim.errors import CaseError, FitWarning
from sim.io import Q
from sim.pnp import circuits as cc
from sim.pnp import impedance as imp
from sim.pnp import observables as obs
from sim.kinds.pnp.build import build_problem, galvanostatic_problem
from sim.pnp.newton import SolverOptions, solve_equilibrium, solve_steady
from sim.units import FARADAY, SI, VACUUM_PERMITTIVITY, thermal_voltage, to_si


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
        # the same equilibrium under the transient boundary conditions, with the inventories of the open
        # one (the bulk's differ by the space charge: 0.6 % of the electrons of a 20 nm LCO layer)
        p = replace(galvanostatic_problem(base), inventory_c=c)
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
        flux = np.zeros((2, p.n_species))
        flux[0, s] = J / (p.z[s] * FARADAY)
        psi, c, st = solve_steady(p, flux, opts, start=(psi, c, w))
        w = st.w
    if ip["electrodes"] == "blocking":
        p = replace(p, c_bc=np.full_like(p.c_bc, np.nan), closed=False)
    return p, psi, c, w


def relaxation_frequencies(p, electrodes, arcs=False):
    """{process: characteristic frequency (Hz)} of the stack `p`, from its own data: the bulk of each layer,
    sigma / (2 pi eps); transport through each layer, D / (2 pi L^2) of its slowest ionic carrier; with
    blocking electrodes, the charging of the double layers, D / (2 pi lambda L).  arcs: only the processes
    that can give an arc of their own, for naming fitted blocks: chemical diffusion (transport through a
    layer) needs a mixed conductor, so a layer without electrons has its bulk arc alone; in a mixed conductor
    the electrons short the geometric capacitance, so its ionic resistance shows as diffusion alone (a
    transmission line, which a circuit of RC blocks may split into several arcs, all named after it)."""
    sigma = obs.bulk_conductivity(p)
    eps = VACUUM_PERMITTIVITY * p.eps_r
    lam = p.debye_length()
    out = {}
    for k, name in enumerate(p.layer_names):
        cells = p.mesh.layer_of_cell == k
        j = int(np.flatnonzero(cells)[0])
        L = float(np.sum(p.mesh.widths[cells]))
        ionic = [s for s in range(p.n_species) if p.present[s, j] and p.species[s] != "e"]
        mixed = any(p.present[s, j] and p.species[s] == "e" for s in range(p.n_species))
        if sigma[j] > 0 and not (arcs and mixed):    # electrons short a mixed conductor's geometric arc
            out[f"bulk of {name}"] = float(sigma[j] / (2 * np.pi * eps[j]))
        if ionic:
            D = min(float(p.D[s, j]) for s in ionic)
            if mixed or not arcs:
                out[f"transport through {name}"] = D / (2 * np.pi * L * L)
            if electrodes == "blocking":
                out[f"electrode charging of {name}"] = D / (2 * np.pi * float(lam[j]) * L)
    return out


def frequency_range(params, p):
    """(f_min, f_max) of a spectrum: the case's, else a hundredth of the slowest and a hundred times the
    fastest of `relaxation_frequencies`; and a warning (one line) for every process a given range cuts."""
    ip = params["impedance"]
    rel = relaxation_frequencies(p, ip["electrodes"])
    fastest, slowest = max(rel.values()), min(rel.values())
    f_min = ip["frequency_min_Hz"] if ip.get("frequency_min_Hz") is not None else 10 ** np.floor(np.log10(slowest / 100))
    f_max = ip["frequency_max_Hz"] if ip.get("frequency_max_Hz") is not None else 10 ** np.ceil(np.log10(fastest * 100))
    if f_min >= f_max:
        key = "frequency_max_Hz" if ip.get("frequency_max_Hz") is not None else "frequency_min_Hz"
        raise CaseError(None, f"impedance.{key}", ip.get(key), f"the range {f_min:.3g}-{f_max:.3g} Hz is empty (the "
                        f"stack relaxes between {slowest:.3g} and {fastest:.3g} Hz)")
    for name, fr in rel.items():
        if fr > f_max / 10 or fr < f_min * 10:
            warnings.warn(f"impedance at {p.temperature_K:g} K: the {name} relaxes at {fr:.3g} Hz, within a decade of "
                          f"the frequency range {f_min:.3g}-{f_max:.3g} Hz or outside it: its arc is cut and its fitted "
                          "values are biased (leave frequency_min_Hz / frequency_max_Hz out for a range that holds "
                          "every arc)", FitWarning, stacklevel=3)
    return float(f_min), float(f_max)


def spectrum(params, T):
    """(frequencies (Hz), Z (ohm m^2), problem, psi, c, w) at temperature T."""
    ip = params["impedance"]
    p, psi, c, w = steady_state(params, T)
    f = imp.frequencies(*frequency_range(params, p), ip["points_per_decade"])
    if ip["electrodes"] == "li_exchanging":
        Z = imp.current_drive(p, psi, c, f, obs.li_index(p), w=w)
    else:
        Z = imp.voltage_drive(p, psi, c, f, w=w)
    return f, Z, p, psi, c, w


def read_measured(path, case_dir=None, case_file=None):
    """A measured spectrum (f in Hz, Z in ohm m^2), read and validated by `sim.spectra` (the one reader of
    spectrum files); any problem is one CaseError on impedance.measured_csv naming the case file, the data
    file and its line."""
    from sim import spectra
    path = Path(path)
    if case_dir is not None and not path.is_absolute():
        path = Path(case_dir) / path
    s = spectra.read_spectrum(path, lambda why: CaseError(case_file, "impedance.measured_csv", str(path),
                                                          f"{path.name}: {why}"), convention_hint="")
    return s.frequency, s.z


def auto_circuit(p, electrodes, kinetics=False):
    """The default circuit of a stack: p(R0,C0) (the fastest bulk arc, with the geometric capacitance), then
    one p(Rk,CPEk) per further process (each layer with a Li-exchanging or reversible electrode, each
    interface with kinetics), and a series CPE_electrodes for blocking electrodes.  The fit numbers blocks
    of one form fastest first; `block_processes` names each by the model's own relaxation frequencies."""
    n = len(p.layer_names) + (1 if kinetics else 0) - (1 if electrodes == "blocking" else 0)
    blocks = ["p(R0,C0)"] + [f"p(R{k},CPE{k})" for k in range(1, n + 1)]
    if electrodes == "blocking":
        blocks.append("CPE_electrodes")
    return "-".join(blocks)


def block_processes(circuit, params, p, electrodes):
    """{element name: the process of the stack whose relaxation frequency is nearest its block's}: the
    meaning of each fitted arc, so that a name like R1 reads the same in every stack (the bulk of LNO
    in one, Li transport through LCO in another, said so)."""
    rel = relaxation_frequencies(p, electrodes, arcs=True)
    names = [n for n, _ in cc.parameter_names(circuit)]
    value = dict(zip(names, params))
    out = {}
    for block in cc.parse(circuit):
        if len(block) != 2:
            for e in block:
                out[e] = "electrode double layers" if e == "CPE_electrodes" else e
            continue
        r, x = block
        if x.startswith("CPE"):
            tau = (value[r] * value[f"{x}_Q"]) ** (1 / value[f"{x}_a"])
        else:
            tau = value[r] * value[x]
        f_block = 1 / (2 * np.pi * tau)
        nearest = min(rel, key=lambda k: abs(np.log(rel[k] / f_block)))
        for e in block:
            out[e] = nearest
    return out


def _fit(circuit, f, Z, start=None, reorder=True, arc_order=None):
    """`circuits.best_fit`, also from `start` (the previous temperature's parameters, so that each element
    keeps its meaning along the Arrhenius plot)."""
    return cc.best_fit(circuit, f, Z, [start] if start is not None else [], reorder)


def _fit_q(prefix, circuit, fitted, meaning, where=""):
    """The fit's datasets (each parameter with its standard error and the process it stands for); its
    warnings stored (`warnings`, '' when none) and printed, one line each."""
    out = {}
    names = cc.parameter_names(circuit)
    for (name, unit), v, e in zip(names, fitted.params, fitted.se):
        scale = 1 / SI["ohm cm^2"] if unit == "ohm m^2" else 1.0
        shown = "ohm cm^2" if unit == "ohm m^2" else unit
        element = name.rsplit("_", 1)[0] if name.endswith(("_Q", "_a", "_R", "_tau")) else name
        out[f"{prefix}/{name}"] = Q(v * scale, shown, {"standard_error": e * scale,
                                                       "process": meaning.get(element, element)})
    out[f"{prefix}/relative_rms_residual"] = Q(fitted.rms, "1", {"meaning": "rms of (Z_fit - Z)/|Z|"})
    labels = np.array([n for n, _ in names])
    for axis, role in (("cov_i", "rows"), ("cov_j", "columns")):   # two names: xarray refuses a repeated dimension
        out[f"{prefix}/{axis}"] = Q(labels, "", {"meaning": f"{role} of the correlation matrix"},
                                    dims=(f"{prefix}/{axis}",))
    out[f"{prefix}/correlation"] = Q(np.nan_to_num(fitted.correlation), "1", {
        "meaning": "correlation matrix of the fitted parameters (log scale for magnitudes)"},
        dims=(f"{prefix}/cov_i", f"{prefix}/cov_j"))
    out[f"{prefix}/warnings"] = Q("; ".join(fitted.warnings), "", {"meaning": "why the fit is not to be trusted; "
                                                                   "empty when nothing was found"})
    for text in fitted.warnings:
        warnings.warn(f"{where}circuit fit: {text}", FitWarning, stacklevel=3)
    return out


def _circuit(params):
    """(circuit, reorder, arc order): the case's circuit (numbered blocks of one form are reordered by time
    constant) or the `auto_circuit` of its stack, whose names say what each block is."""
    ip = params["impedance"]
    if ip["circuit"] != "auto":
        try:
            cc.parse(ip["circuit"])
        except ValueError as e:
            raise CaseError(None, "impedance.circuit", ip["circuit"], str(e)) from None
        return ip["circuit"], True, None
    kin = params["kinetics"].get("exchange_current_density_mA_cm2") is not None
    return auto_circuit(build_problem(params), ip["electrodes"], kin), True, None


def arrhenius_fit(T, R, se):
    """(E_a (eV), its standard error, R at 1/T -> 0) of R(T) = R_inf exp(E_a / kT): weighted least squares of
    ln R against 1 / kT (weights 1 / (se / R)^2; equal weights without standard errors).  NaN with fewer than
    two finite points."""
    T, R, se = (np.asarray(v, float) for v in (T, R, se))
    ok = np.isfinite(R) & (R > 0)
    if ok.sum() < 2:
        return np.nan, np.nan, np.nan
    x = 1.0 / (thermal_voltage(1.0) * T[ok])          # 1 / kT in 1/eV
    y = np.log(R[ok])
    rel = se[ok] / R[ok]
    wts = 1.0 / np.maximum(rel, 1e-6) ** 2 if np.all(np.isfinite(rel)) and np.all(rel > 0) else np.ones(ok.sum())
    A = np.vstack([x, np.ones_like(x)]).T * np.sqrt(wts)[:, None]
    coef, *_ = np.linalg.lstsq(A, y * np.sqrt(wts), rcond=None)
    resid = y - (coef[0] * x + coef[1])
    dof = max(1, ok.sum() - 2)
    cov = np.linalg.pinv(A.T @ A) * max(float(np.sum(wts * resid ** 2)) / dof, 1e-300) if ok.sum() > 2 else \
        np.linalg.pinv(A.T @ A)
    return float(coef[0]), float(np.sqrt(max(cov[0, 0], 0.0))), float(np.exp(coef[1]))


def run(params, case_dir=None):
    ip = params["impedance"]
    temps = ip["temperatures_K"]
    measured = read_measured(ip["measured_csv"], case_dir) if ip.get("measured_csv") else None   # before any work
    circuit, reorder, arc_order = _circuit(params)
    T_DIM = ("pnp/impedance/temperature",)           # dimensions (sim.io.Q): the temperatures of the spectra
    out = {"pnp/impedance/temperature": Q(np.array(temps, float), "K", dims=T_DIM),
           "pnp/impedance/circuit": Q(circuit, "", {"meaning": "fitted equivalent circuit (sim.pnp.circuits); "
                                                               "its element names say what each block stands for"}),
           "pnp/impedance/electrodes": Q(ip["electrodes"], ""),
           "pnp/impedance/amplitude": Q(ip["amplitude_mV"] * 1e-3, "V", {"meaning": "nominal; the response is linear"}),
           "pnp/impedance/sign_convention": Q("Z = dV/dI, time dependence exp(i w t): a capacitor has Z'' < 0", "")}
    names = cc.parameter_names(circuit)
    is_R = np.array([u == "ohm m^2" for _, u in names])
    dc, rscl, spectra, fits, problems = [], [], [], [], []
    previous = None
    for T in temps:
        f, Z, p, psi, c, w = spectrum(params, T)
        spectra.append((f, Z))
        problems.append(p)
        g = f"pnp/impedance/T_{T:.2f}K"
        out[f"{g}/frequency"] = Q(f, "Hz", dims=(f"{g}/frequency",))
        out[f"{g}/z_real"] = Q(Z.real / SI["ohm cm^2"], "ohm cm^2", dims=(f"{g}/frequency",))
        out[f"{g}/z_imag"] = Q(Z.imag / SI["ohm cm^2"], "ohm cm^2", dims=(f"{g}/frequency",))
        rr, ri, M = cc.lin_kk(f, Z, capacitive=ip["electrodes"] == "blocking")
        out[f"{g}/kramers_kronig_residual"] = Q(max(np.max(np.abs(rr)), np.max(np.abs(ri))), "1",
                                                {"meaning": "max Lin-KK residual / |Z|", "rc_elements": M})
        fits.append(_fit(circuit, f, Z, previous, reorder, arc_order))
        previous = fits[-1].params if fits[-1] is not None else previous
        dc.append(Z[np.argmin(f)].real / SI["ohm cm^2"])
        ev = obs.evaluate(p, psi, c, w=w)
        rscl.append(ev["total_excess_resistance"] / SI["ohm cm^2"])
    # second pass, from the other end: a fit that a neighbour's parameters (scaled by the ratio of
    # the low-frequency resistances) improves is replaced, so elements keep their meaning along T
    for i in range(len(temps) - 2, -1, -1):
        if fits[i + 1] is None:
            continue
        start = np.where(is_R, fits[i + 1].params * dc[i] / dc[i + 1], fits[i + 1].params)
        better = _fit(circuit, *spectra[i], start, reorder, arc_order)
        if better is not None and (fits[i] is None or better.rms < 0.8 * fits[i].rms):
            fits[i] = better
    meanings = [block_processes(circuit, fitted.params, p, ip["electrodes"]) if fitted else {}
                for fitted, p in zip(fits, problems)]
    for T, fitted, meaning in zip(temps, fits, meanings):
        if fitted is not None:
            out.update(_fit_q(f"pnp/impedance/T_{T:.2f}K/fit", circuit, fitted, meaning, f"impedance at {T:g} K: "))
    out["pnp/impedance/low_frequency_resistance"] = Q(np.array(dc), "ohm cm^2", {"meaning": "Re Z at the lowest frequency"},
                                                      T_DIM)
    out["pnp/impedance/dc_excess_resistance"] = Q(np.array(rscl), "ohm cm^2",
                                      {"meaning": "sum of the space-charge excess resistances of the steady-state profile (the DC estimate)"}, T_DIM)
    # the fitted resistances by the process they stand for (a block's meaning may change with temperature)
    series = {}
    for i, (fitted, meaning) in enumerate(zip(fits, meanings)):
        if fitted is None:
            continue
        for j, (n, unit) in enumerate(names):
            if unit != "ohm m^2":
                continue
            process = meaning.get(n[:-2] if n.endswith("_R") else n, n)
            R, E = series.setdefault(process, (np.full(len(temps), np.nan), np.full(len(temps), np.nan)))
            if np.isnan(R[i]):
                R[i], E[i] = 0.0, 0.0
            R[i] += fitted.params[j] / SI["ohm cm^2"]         # two blocks on one process: their sum
            E[i] = np.hypot(E[i], fitted.se[j] / SI["ohm cm^2"])
    for process, (R, E) in series.items():
        key = re.sub(r"\W+", "_", process)
        a = {"circuit": circuit, "process": process, "note": "NaN at a temperature where no fitted block stands for "
             "this process (or the fit failed)"}
        out[f"pnp/impedance/fit_resistance/{key}"] = Q(R, "ohm cm^2", a, T_DIM)
        out[f"pnp/impedance/fit_resistance_error/{key}"] = Q(E, "ohm cm^2", {**a, "meaning": "standard error"}, T_DIM)
        if len(temps) >= 2:
            Ea, Ea_se, _ = arrhenius_fit(temps, R, E)
            out[f"pnp/impedance/activation_energy/{key}"] = Q(Ea, "eV", {
                "standard_error": Ea_se, "process": process,
                "meaning": "E_a of R(T) = R_inf exp(E_a / kT), weighted by the fit's standard errors",
                "note": "NaN with fewer than two temperatures where the process was fitted"})
    if measured is not None:
        fm, Zm = measured
        F_DIM = ("pnp/impedance/measured/frequency",)
        out["pnp/impedance/measured/frequency"] = Q(fm, "Hz", dims=F_DIM)
        out["pnp/impedance/measured/z_real"] = Q(Zm.real / SI["ohm cm^2"], "ohm cm^2", dims=F_DIM)
        out["pnp/impedance/measured/z_imag"] = Q(Zm.imag / SI["ohm cm^2"], "ohm cm^2", dims=F_DIM)
        fitted = _fit(circuit, fm, Zm, None, reorder, arc_order)
        if fitted is not None:
            meaning = block_processes(circuit, fitted.params, problems[0], ip["electrodes"])
            out.update(_fit_q("pnp/impedance/measured/fit", circuit, fitted, meaning, "measured spectrum: "))
    return out
