"""Weighted least squares of a model's spectra against measured ones, with the covariance from the Jacobian at
the optimum and the diagnostics that say when a fit cannot be trusted.

Objective: minimize sum_k |r_k|^2 over the spectra of every temperature and every frequency, with

    r_k = (Z_model(f_k) - Z_data(f_k)) / |Z_data(f_k)|      (real and imaginary parts, 2 N residuals)

("modulus weighting"): impedance spectra span decades in |Z|, and an unweighted fit would see only the
largest values (the low-frequency end); an instrument's error is roughly proportional to |Z|, so relative
residuals are what the measurement fixes.  The weights use |Z_data|, not |Z_model|, so that they do not
move with the parameters and the objective stays a plain sum of squares.

Variables: u in [0, 1] per parameter (`setup.Parameter`: linear or log10 over [low, high]), so every
variable has unit scale (x_scale = 1) and the bounds are [0, 1].  The Jacobian is by forward differences of
step STEP in u, one model evaluation per parameter (least_squares' '2-point', with an absolute step: scipy's
relative step vanishes near u = 0), taken inward at the upper bound.

Covariance (Gauss-Newton, at the optimum): cov_u = s^2 (J^T J)^-1, s^2 = sum r^2 / (2N - P), computed from
the SVD of J; cov_x = G cov_u G with G = diag(dx/du).  A singular direction of J (singular value below
eps max(2N, P) times the largest) leaves its parameters' standard errors undefined (NaN).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from sim.errors import SimError

#: forward-difference step in the normalized variable u (1e-6 of each parameter's range, in t = x or log10 x)
STEP = 1e-6
CORRELATION_LIMIT = 0.99
#: u this close to 0 or 1 is at a bound
AT_BOUND = 1e-6


def residuals(model, data):
    """Modulus-weighted residuals of lists of spectra (complex arrays): real parts, then imaginary parts."""
    r = np.concatenate([(m - d) / np.abs(d) for m, d in zip(model, data)])
    return np.concatenate([r.real, r.imag])


def rms(r):
    """Root mean square of the residuals (real and imaginary parts counted separately)."""
    return float(np.sqrt(np.mean(np.square(r))))


@dataclass
class FitResult:
    values: np.ndarray            # best fit, case units
    u: np.ndarray
    standard_error: np.ndarray    # case units; NaN where undefined
    covariance: np.ndarray        # case units (products of the parameters' units)
    correlation: np.ndarray
    standard_error_u: np.ndarray  # in u: beyond 1 is beyond the range
    singular: np.ndarray          # bool per parameter: in a singular direction of J
    bound: list                   # "low", "high" or "" per parameter
    rms: float
    model: list                   # the model's spectra at the best fit
    evaluations: int              # model evaluations, the Jacobian's included
    iterations: int
    converged: bool
    message: str
    wall_time: float
    residuals: np.ndarray = None


def fit(parameters, data, evaluate, max_evaluations, on_evaluation=None):
    """Fit `parameters` (setup.Parameter) so that evaluate(values) -> [Z arrays] matches `data` ([Z arrays]).
    on_evaluation(count, rms) is called after every model evaluation (progress)."""
    from scipy.optimize import least_squares       # 0.4-1 s to import: only when a fit runs
    t0 = time.perf_counter()                       # the fit's own time, the import not included
    n = len(parameters)
    state = {"count": 0, "last": {}}

    def values_of(u):
        return np.array([p.from_u(float(v)) for p, v in zip(parameters, np.clip(u, 0.0, 1.0))])

    def run(u):
        key = np.asarray(u, float).tobytes()
        got = state["last"].get(key)
        if got is None:
            values = values_of(u)
            model = evaluate(values)
            r = residuals(model, data)
            if not np.all(np.isfinite(r)):
                at = ", ".join(f"{p.key} = {v:.6g}" for p, v in zip(parameters, values))
                raise SimError(f"fit: the model gave a non-finite impedance at {at}")
            state["count"] += 1
            if len(state["last"]) > 2 * n + 4:
                state["last"].pop(next(iter(state["last"])))
            got = state["last"][key] = (r, model)
            if on_evaluation is not None:
                on_evaluation(state["count"], rms(r))
        return got

    def fun(u):
        return run(u)[0]

    def jac(u):
        r0 = fun(u)
        J = np.empty((r0.size, n))
        for j in range(n):
            h = STEP if u[j] + STEP <= 1.0 else -STEP
            du = np.array(u, float)
            du[j] += h
            J[:, j] = (fun(du) - r0) / h
        return J

    u0 = np.array([p.to_u(p.start) for p in parameters])
    sol = least_squares(fun, u0, jac=jac, bounds=(np.zeros(n), np.ones(n)), method="trf", x_scale=1.0,
                        max_nfev=max(1, max_evaluations // (n + 1)))
    r, model = run(sol.x)
    values = values_of(sol.x)
    J = jac(sol.x)
    cov_u, singular = covariance(J, r)
    G = np.array([p.dx_du(v) for p, v in zip(parameters, values)])
    se_u = np.sqrt(np.abs(np.diag(cov_u)))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov_u / np.outer(se_u, se_u)
    np.fill_diagonal(corr, np.where(singular, np.nan, 1.0))
    bound = ["low" if (u <= AT_BOUND or a < 0) else "high" if (u >= 1 - AT_BOUND or a > 0) else ""
             for u, a in zip(sol.x, sol.active_mask)]
    return FitResult(values=values, u=np.array(sol.x), standard_error=G * se_u, covariance=cov_u * np.outer(G, G),
                     correlation=corr, standard_error_u=se_u, singular=singular, bound=bound, rms=rms(r), model=model,
                     evaluations=state["count"], iterations=int(sol.nfev), converged=sol.status > 0,
                     message=str(sol.message), wall_time=time.perf_counter() - t0, residuals=r)


def covariance(J, r):
    """(cov_u, singular): s^2 (J^T J)^-1 with s^2 = |r|^2 / (m - P), by SVD; rows and columns of parameters
    that take part in a singular direction of J are NaN, and `singular` marks them."""
    m, n = J.shape
    s2 = float(np.sum(np.square(r))) / max(1, m - n)
    U, S, Vt = np.linalg.svd(J, full_matrices=False)
    tol = np.finfo(float).eps * max(m, n) * (S[0] if S.size else 0.0)
    good = S > tol
    inv = np.where(good, 1.0 / np.where(good, S, 1.0) ** 2, 0.0)
    cov = (Vt.T * inv) @ Vt * s2
    singular = np.any(np.abs(Vt[~good]) > 1e-6, axis=0) if (~good).any() else np.zeros(n, bool)
    cov[singular, :] = np.nan
    cov[:, singular] = np.nan
    return cov, singular


def diagnose(parameters, result, max_evaluations):
    """One line per reason not to trust the fit: no convergence, a parameter at a bound, a parameter the
    spectra do not fix (singular Jacobian, or a standard error beyond its range), two parameters fixed only
    in combination (|correlation| > CORRELATION_LIMIT)."""
    out = []
    if not result.converged:
        out.append(f"the fit did not converge: it stopped after {result.evaluations} model evaluations (max_evaluations = "
                   f"{max_evaluations}); the values are the last iterate: raise max_evaluations or start closer")
    for p, v, b in zip(parameters, result.values, result.bound):
        if b:
            out.append(f"{p.key} ends at its {'lower' if b == 'low' else 'upper'} bound ({v:.6g}{_unit(p)}): the "
                       f"optimum may lie outside [{p.low:g}, {p.high:g}], and its standard error does not hold there")
    for p, se, se_u, sing in zip(parameters, result.standard_error, result.standard_error_u, result.singular):
        if sing:
            out.append(f"{p.key} is not identifiable: the spectra do not depend on it (singular Jacobian); its "
                       "standard error is undefined")
        elif se_u > 1.0 and p.scale == "log":
            width = np.log10(p.high) - np.log10(p.low)
            out.append(f"{p.key} is not identifiable: the standard error of its log10 ({se_u * width:.3g} decades) "
                       f"exceeds its range [{p.low:g}, {p.high:g}] ({width:.3g} decades)")
        elif se_u > 1.0:
            out.append(f"{p.key} is not identifiable: its standard error ({se:.3g}{_unit(p)}) exceeds its range "
                       f"[{p.low:g}, {p.high:g}]")
    corr = result.correlation
    for i in range(len(parameters)):
        for j in range(i + 1, len(parameters)):
            if np.isfinite(corr[i, j]) and abs(corr[i, j]) > CORRELATION_LIMIT:
                out.append(f"{parameters[i].key} and {parameters[j].key} are not separately identifiable: correlation "
                           f"{corr[i, j]:+.4f} (the spectra fix a combination of them)")
    return out


def _unit(p):
    return f" {p.unit}" if p.unit else ""
