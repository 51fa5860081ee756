"""Runner of `fit` cases: case keys of an impedance case fitted to measured spectra (sim.kinds.fit.optimize),
with standard errors, covariance and correlation, the fitted spectra and the warnings that say when the fit
cannot be trusted (stored in fit/warnings and issued as FitWarning, one line each)."""
from __future__ import annotations

import warnings

import numpy as np

from sim.io import Q
from sim.kinds.fit import model, optimize
from sim.kinds.fit.setup import prepare
from sim.progress import bar
from sim.units import SI

P_DIM, T_DIM = ("fit/parameters",), ("fit/temperature",)
COV_DIMS = ("fit/cov_i", "fit/cov_j")
PER_PARAMETER = "per parameter: /fit/parameter_units"
WEIGHTING = ("modulus: residuals (Z_model - Z_data) / |Z_data|, real and imaginary parts, every point of every "
             "spectrum (docs/theory.md, fitting the model)")


class FitWarning(UserWarning):
    """A fit that cannot be trusted as it stands (not converged, at a bound, not identifiable)."""


def _progress(total):
    """A bar of model evaluations with the current rms (where someone can see it: sim.progress)."""
    b = bar(total=total, desc="fit", unit="eval", leave=False, disable=None)

    def step(count, rms):
        b.update(1)
        if hasattr(b, "set_postfix_str"):
            b.set_postfix_str(f"rms {rms:.3g}", refresh=False)
    return b, step


def run(params, case_dir=None):
    setup = prepare(params, case_dir=case_dir)
    ps = setup.parameters
    b, step = _progress(params["max_evaluations"])
    try:
        res = optimize.fit(ps, [s.z for s in setup.spectra], lambda v: model.spectra(setup, v),
                           params["max_evaluations"], step)
    finally:
        b.close()
    notes = optimize.diagnose(ps, res, params["max_evaluations"])
    for line in notes:
        warnings.warn(f"fit: {line}", FitWarning, stacklevel=2)
    names = np.array([p.key for p in ps])
    nan_se = {"note": "NaN: the parameter is not identifiable (singular Jacobian: the spectra do not depend on it)"}
    out = {
        "fit/parameters": Q(names, "", {"meaning": "fitted keys of the impedance case (dotted, as --set names them)"},
                            P_DIM),
        "fit/parameter_units": Q(np.array([p.unit or "1" for p in ps]), "", {"meaning": "unit of each key in the case"},
                                 P_DIM),
        "fit/scale": Q(np.array([p.scale for p in ps]), "", {"meaning": "linear, or log: log10 of the value fitted"},
                       P_DIM),
        "fit/value": Q(res.values, PER_PARAMETER, {"meaning": "best fit"}, P_DIM),
        "fit/standard_error": Q(res.standard_error, PER_PARAMETER, {
            "meaning": "sqrt of the covariance's diagonal (linearized at the best fit)", **nan_se}, P_DIM),
        "fit/start": Q(np.array([p.start for p in ps]), PER_PARAMETER, dims=P_DIM),
        "fit/low": Q(np.array([p.low for p in ps]), PER_PARAMETER, dims=P_DIM),
        "fit/high": Q(np.array([p.high for p in ps]), PER_PARAMETER, dims=P_DIM),
        "fit/at_bound": Q(np.array([b or "" for b in res.bound]), "", {"meaning": "low or high: ends at that bound"},
                          P_DIM),
        "fit/cov_i": Q(names, "", {"meaning": "rows of the covariance and correlation"}, ("fit/cov_i",)),
        "fit/cov_j": Q(names, "", {"meaning": "columns of the covariance and correlation"}, ("fit/cov_j",)),
        "fit/covariance": Q(res.covariance, "per pair: product of /fit/parameter_units", {
            "meaning": "s^2 G (J^T J)^-1 G at the best fit, s^2 = sum r^2 / (2N - P), G = dx/du", **nan_se}, COV_DIMS),
        "fit/correlation": Q(res.correlation, "1", nan_se, COV_DIMS),
        "fit/relative_rms_residual": Q(res.rms, "1", {"meaning": "rms of (Z_fit - Z)/|Z|, real and imaginary parts"}),
        "fit/weighting": Q(WEIGHTING, ""),
        "fit/evaluations": Q(res.evaluations, "1", {"meaning": "model evaluations (every spectrum solved once), "
                                                     "the finite-difference Jacobian's included"}),
        "fit/iterations": Q(res.iterations, "1", {"meaning": "evaluations of the objective by the optimizer"}),
        "fit/converged": Q(int(res.converged), "1", {"meaning": "1: least_squares met a tolerance"}),
        "fit/status": Q(res.message, ""),
        "fit/wall_time": Q(res.wall_time, "s"),
        "fit/warnings": Q(np.array(notes or [""]), "", {"meaning": "why the fit may not be trusted; empty: none"},
                          ("fit/warnings",)),
        "fit/case_text": Q(setup.case_text, "", {"case_path": setup.case_rel, "meaning": "the impedance case fitted"}),
        "fit/temperature": Q(np.array(setup.temperatures), "K", dims=T_DIM),
        "fit/data_file": Q(np.array(setup.files), "", {"sha256": " ".join(setup.digests)}, T_DIM),
        "fit/temperature_rms": Q(np.array([optimize.rms(optimize.residuals([m], [s.z]))
                                           for m, s in zip(res.model, setup.spectra)]), "1",
                                 {"meaning": "relative rms residual of each spectrum"}, T_DIM),
    }
    grids = [model.dense(s.frequency) for s in setup.spectra]
    curves = model.spectra(setup, res.values, grids)
    for T, s, m, digest, fc, zc in zip(setup.temperatures, setup.spectra, res.model, setup.digests, grids, curves):
        g = f"fit/T_{T:.2f}K"
        F = (f"{g}/frequency",)
        out[f"{g}/frequency"] = Q(s.frequency, "Hz", dims=F)
        out[f"{g}/z_real"] = Q(s.z.real / SI["ohm cm^2"], "ohm cm^2", {"meaning": "data", "sha256": digest}, F)
        out[f"{g}/z_imag"] = Q(s.z.imag / SI["ohm cm^2"], "ohm cm^2", {"meaning": "data (Z'' < 0 for a capacitor)"}, F)
        out[f"{g}/fit_z_real"] = Q(m.real / SI["ohm cm^2"], "ohm cm^2", {"meaning": "model at the best fit"}, F)
        out[f"{g}/fit_z_imag"] = Q(m.imag / SI["ohm cm^2"], "ohm cm^2", {"meaning": "model at the best fit"}, F)
        C = (f"{g}/curve_frequency",)                 # its own dimension: a subgroup's 'frequency' would clash
        out[f"{g}/curve_frequency"] = Q(fc, "Hz", {"meaning": "20 per decade over the data's range"}, C)
        out[f"{g}/curve_z_real"] = Q(zc.real / SI["ohm cm^2"], "ohm cm^2", {"meaning": "model at the best fit"}, C)
        out[f"{g}/curve_z_imag"] = Q(zc.imag / SI["ohm cm^2"], "ohm cm^2", {"meaning": "model at the best fit"}, C)
    return out
