"""Equivalent circuits: evaluation, least-squares fit (scipy) and a Kramers-Kronig (Lin-KK) test.

A circuit is a string of elements in series, joined by '-'; 'p(A,B)' puts two elements in
parallel.  Elements (impedance of one element, omega = 2 pi f):

    R<name>    Z = R                         (ohm m^2)
    C<name>    Z = 1 / (i omega C)           (F/m^2)
    CPE<name>  Z = 1 / (Q (i omega)^a)       (Q in F s^(a-1) / m^2, 0 < a <= 1)
    W<name>    Z = R tanh(sqrt(i omega tau)) / sqrt(i omega tau)   (R in ohm m^2, tau in s): the
               finite-length (transmissive) Warburg of diffusion through a layer of thickness L,
               tau = L^2 / D; R at low, 0 with 45 degrees at high frequencies (a mixed conductor whose
               ions pass and electrons are blocked: Jamnik & Maier, J. Electrochem. Soc. 146 (1999) 4183)

Example (the default for a stack with two interfaces): "p(R0,C0)-p(R1,CPE1)-p(R2,CPE2)": bulk
resistance with the geometric capacitance, then one R || CPE per interface.

Blocks of the same form are numbered by time constant, fastest first (`canonical`).
The fit minimises sum |(Z_model - Z) / |Z||^2 over the log of the positive parameters with
scipy.optimize.least_squares; standard errors come from the Jacobian at the optimum,
cov = s^2 (J^T J)^-1, and the fit says when it fails (`fit`).  Sign convention: Z = dV/dI with
e^{i omega t}, so a capacitor has Z'' < 0.  The Kramers-Kronig test is the linear Lin-KK fit of Schoenleber et al.,
Electrochim. Acta 131 (2014) 20: Z is fitted by R0 + sum_k R_k / (1 + i omega tau_k) (+ 1/(i omega C)
for a capacitive tail) with tau_k log-spaced over the measured range; the residuals relative to
|Z| are returned.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np



def parse(circuit):
    """[[element, ...], ...]: the series blocks, each a list of parallel elements.  Every element name
    is unique (a name is a fitted parameter)."""
    blocks, seen = [], set()
    for part in circuit.replace(" ", "").split("-"):
        m = re.fullmatch(r"p\((.+)\)", part)
        names = m.group(1).split(",") if m else [part]
        for n in names:
            if not re.fullmatch(r"(R|C|CPE|W)\w*", n):
                raise ValueError(f"unknown circuit element {n!r} (R, C, CPE or W followed by a name)")
            if n in seen:
                raise ValueError(f"element {n!r} appears twice: every element needs its own name")
            seen.add(n)
        blocks.append(names)
    return blocks


def parameter_names(circuit):
    """(name, unit) of every fitted parameter, in order."""
    out = []
    for block in parse(circuit):
        for e in block:
            if e.startswith("CPE"):
                out += [(f"{e}_Q", "F s^(a-1)/m^2"), (f"{e}_a", "1")]
            elif e.startswith("W"):
                out += [(f"{e}_R", "ohm m^2"), (f"{e}_tau", "s")]
            elif e.startswith("R"):
                out.append((e, "ohm m^2"))
            else:
                out.append((e, "F/m^2"))
    return out


def evaluate(circuit, params, f):
    """Z(f) of the circuit (ohm m^2) for the parameter vector `params`."""
    omega = 2 * np.pi * np.asarray(f, float)
    it = iter(params)
    Z = np.zeros(omega.shape, complex)
    for block in parse(circuit):
        Y = np.zeros(omega.shape, complex)
        for e in block:
            if e.startswith("CPE"):
                Q, a = next(it), next(it)
                Y = Y + Q * (1j * omega) ** a
            elif e.startswith("W"):
                R, tau = next(it), next(it)
                u = np.sqrt(1j * omega * tau)
                Y = Y + u / (R * np.tanh(u))
            elif e.startswith("R"):
                Y = Y + 1.0 / next(it)
            else:
                Y = Y + 1j * omega * next(it)
        Z = Z + 1.0 / Y
    return Z


@dataclass
class Fit:
    """A circuit fit: parameters, standard errors, the relative rms residual, the correlation matrix of the
    parameters and what is wrong with it (empty when nothing is)."""
    params: np.ndarray
    se: np.ndarray
    rms: float
    correlation: np.ndarray
    warnings: list

    def __iter__(self):                     # (params, se, rms), as callers unpack a fit
        return iter((self.params, self.se, self.rms))


#: a fit whose relative rms residual exceeds this does not describe the spectrum
RMS_LIMIT = 0.05
#: |correlation| above this makes two parameters one
CORRELATION_LIMIT = 0.99


def fit(circuit, f, Z, initial, reorder=True):
    """Least-squares fit (module docstring).  Returns a `Fit` whose warnings say when it fails: relative
    rms above RMS_LIMIT, a parameter at a bound, a singular covariance or a standard error larger than
    the value (not identifiable), |correlation| above CORRELATION_LIMIT.  reorder: number blocks of one
    form by time constant (`canonical`; off for circuits whose names say what each block is)."""
    names = [n for n, _ in parameter_names(circuit)]
    x0 = np.array(initial, float)
    is_exp = np.array([n.endswith("_a") for n in names])
    # log for positive magnitudes, plain for CPE exponents (bounded)
    def unpack(u):
        return np.where(is_exp, u, np.exp(u))

    def residual(u):
        r = (evaluate(circuit, unpack(u), f) - Z) / np.abs(Z)
        return np.concatenate([r.real, r.imag])
    u0 = np.where(is_exp, x0, np.log(np.maximum(x0, 1e-300)))
    # bounds keep degenerate directions (an R in parallel with an element that carries the current)
    # from running off: resistances within [1e-9, 1e2] of |Z|, capacitances within [1e-15, 1e6] F/m^2
    is_R = np.array([n.startswith("R") or n.endswith("_R") for n in names])
    is_tau = np.array([n.endswith("_tau") for n in names])
    zmin, zmax = float(np.min(np.abs(Z))), float(np.max(np.abs(Z)))
    omega = 2 * np.pi * np.asarray(f, float)
    lo = np.where(is_exp, 0.3, np.where(is_R, np.log(1e-9 * zmin), np.where(is_tau, np.log(1e-3 / omega.max()), np.log(1e-15))))
    hi = np.where(is_exp, 1.0, np.where(is_R, np.log(1e2 * zmax), np.where(is_tau, np.log(1e3 / omega.min()), np.log(1e6))))
    from scipy.optimize import least_squares       # 0.4 s to import: only when a fit runs
    sol = least_squares(residual, np.clip(u0, lo + 1e-9, hi - 1e-9), bounds=(lo, hi), x_scale="jac", max_nfev=4000)
    p = unpack(sol.x)
    dof = max(1, 2 * len(f) - len(p))
    s2 = float(np.sum(sol.fun ** 2)) / dof
    warnings = []
    JtJ = sol.jac.T @ sol.jac
    if np.linalg.matrix_rank(JtJ, tol=1e-12 * max(np.abs(JtJ).max(), 1e-300)) < len(p):
        warnings.append("singular covariance: some parameters are not determined by the spectrum")
    cov = np.linalg.pinv(JtJ) * s2
    se_u = np.sqrt(np.maximum(np.diag(cov), 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov / np.outer(se_u, se_u)
    se = np.where(is_exp, se_u, p * se_u)          # d exp(u) = exp(u) du
    rms = float(np.sqrt(np.mean(sol.fun ** 2)))
    if rms > RMS_LIMIT:
        warnings.append(f"relative rms residual {rms:.3g} > {RMS_LIMIT:g}: the circuit does not describe the spectrum")
    at_bound = [n for n, u, l, h in zip(names, sol.x, lo, hi) if min(u - l, h - u) < 1e-6 * max(1.0, abs(u))]
    if at_bound:
        warnings.append(f"{', '.join(at_bound)} at a bound of the fit")
    loose = [n for n, v, e, ex in zip(names, p, se, is_exp) if not np.isfinite(e) or (not ex and e > abs(v))]
    if loose:
        warnings.append(f"{', '.join(loose)} not identifiable (standard error larger than the value)")
    pairs = [f"{names[i]}/{names[j]}" for i in range(len(p)) for j in range(i + 1, len(p))
             if np.isfinite(corr[i, j]) and abs(corr[i, j]) > CORRELATION_LIMIT]
    if pairs:
        warnings.append(f"correlated beyond {CORRELATION_LIMIT:g}: {', '.join(pairs)}")
    if not sol.success:
        warnings.append(f"the optimizer stopped: {sol.message}")
    if reorder:
        order = canonical_order(circuit, p)
        p, se, corr = p[order], se[order], corr[np.ix_(order, order)]
    return Fit(p, se, rms, corr, warnings)


def canonical_order(circuit, params):
    """The permutation of the parameters that `canonical` applies (an index array)."""
    return canonical(circuit, params, np.arange(len(params), dtype=float))[1].astype(int)


def canonical(circuit, params, se=None):
    """Blocks of the same form (e.g. the p(R,CPE) of each interface) renumbered by time constant,
    fastest first, so that a name means the same arc whatever the fit's starting point.
    Returns (params, se) reordered; tau = (R Q)^(1/a) for R || CPE, R C for R || C."""
    blocks = parse(circuit)
    sizes = [sum(2 if e.startswith("CPE") else 1 for e in b) for b in blocks]
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(int)
    params = np.array(params, float)
    se = np.zeros_like(params) if se is None else np.array(se, float)
    shape = [tuple(e.rstrip("0123456789") for e in b) for b in blocks]

    def tau(i):
        v = params[starts[i]:starts[i] + sizes[i]]
        if shape[i] == ("R", "CPE"):
            return (v[0] * v[1]) ** (1.0 / v[2])
        if shape[i] == ("R", "C"):
            return v[0] * v[1]
        return np.nan
    out_p, out_se = params.copy(), se.copy()
    for form in set(shape):
        idx = [i for i, s in enumerate(shape) if s == form]
        if len(idx) < 2 or form not in (("R", "CPE"), ("R", "C")):
            continue
        order = sorted(idx, key=tau)
        for dst, src in zip(idx, order):
            out_p[starts[dst]:starts[dst] + sizes[dst]] = params[starts[src]:starts[src] + sizes[src]]
            out_se[starts[dst]:starts[dst] + sizes[dst]] = se[starts[src]:starts[src] + sizes[src]]
    return out_p, out_se


def lin_kk(f, Z, per_decade=3, capacitive=False):
    """Lin-KK residuals (real, imag) relative to |Z|, and the number of RC elements (per_decade
    time constants per decade over the measured range widened by a decade at each end, kept
    below half the number of frequencies so that the test cannot fit anything)."""
    f = np.asarray(f, float)
    omega = 2 * np.pi * f
    decades = np.log10(f.max() / f.min()) + 2
    M = int(min(max(3, np.ceil(per_decade * decades)), max(3, len(f) // 2)))
    tau = np.geomspace(0.1 / omega.max(), 10 / omega.min(), M)
    cols = [np.ones_like(omega, complex)] + [1 / (1 + 1j * omega * t) for t in tau]
    if capacitive:
        cols.append(1 / (1j * omega))
    A = np.array(cols).T / np.abs(Z)[:, None]
    b = Z / np.abs(Z)
    Ar = np.vstack([A.real, A.imag])
    br = np.concatenate([b.real, b.imag])
    x, *_ = np.linalg.lstsq(Ar, br, rcond=None)
    Zfit = np.array(cols).T @ x
    r = (Z - Zfit) / np.abs(Z)
    return r.real, r.imag, M


def default_circuit(n_interfaces):
    """Bulk R || geometric C, then one R || CPE per interface."""
    return "-".join(["p(R0,C0)"] + [f"p(R{i},CPE{i})" for i in range(1, n_interfaces + 1)])


def relaxation_times(f, Z, per_decade=6, capacitive=None):
    """The spectrum as a distribution of relaxation times: Z ~ R_inf + sum_k R_k / (1 + i w tau_k)
    (+ 1 / (i w C) for a capacitive tail), R_k >= 0 by non-negative least squares on the residuals relative
    to |Z|, tau log-spaced a decade beyond the measured range.  Returns (R_inf, tau (K,), R (K,), 1/C)."""
    from scipy.optimize import nnls
    f = np.asarray(f, float)
    omega = 2 * np.pi * f
    if capacitive is None:                # a blocking spectrum: -Z'' keeps rising to the lowest frequency
        low = np.argsort(f)[:3]
        capacitive = bool(np.all(-Z[low].imag > 3 * np.abs(Z[low].real)))
    decades = np.log10(f.max() / f.min()) + 2
    tau = np.geomspace(0.1 / omega.max(), 10 / omega.min(), int(np.ceil(per_decade * decades)))
    cols = [np.ones_like(omega, complex)] + [1 / (1 + 1j * omega * t) for t in tau]
    if capacitive:
        cols.append(1 / (1j * omega))
    A = np.array(cols).T / np.abs(Z)[:, None]
    b = Z / np.abs(Z)
    Ar, br = np.vstack([A.real, A.imag]), np.concatenate([b.real, b.imag])
    try:
        x, _ = nnls(Ar, br, maxiter=50 * Ar.shape[1])
    except RuntimeError:                     # no convergence: the unconstrained fit, clipped
        x = np.clip(np.linalg.lstsq(Ar, br, rcond=None)[0], 0.0, None)
    return x[0], tau, x[1:1 + tau.size], (x[-1] if capacitive else 0.0)


def _arcs(tau, R, n):
    """n arcs (R, tau) from a distribution of relaxation times: its n largest peaks (in log tau), each cell
    of the distribution given to the nearest peak; an arc short of weight gets a share of its neighbour."""
    logt = np.log(tau)
    smooth = np.convolve(R, np.ones(3) / 3, mode="same")
    peaks = [k for k in range(len(R)) if smooth[k] > 0 and smooth[k] >= smooth[max(k - 1, 0)] and
             smooth[k] >= smooth[min(k + 1, len(R) - 1)]]
    peaks = sorted(sorted(peaks, key=lambda k: -smooth[k])[:n])
    while len(peaks) < n:                      # fewer features than blocks: spread over the range
        peaks = sorted(set(peaks) | {int(x) for x in np.linspace(0, len(R) - 1, n + 2)[1:-1]})[:n]
    owner = np.argmin(np.abs(logt[:, None] - logt[peaks][None, :]), axis=1)
    out = []
    total = max(float(R.sum()), 1e-300)
    for j, k in enumerate(peaks):
        w = R[owner == j]
        r = float(w.sum()) if w.sum() > 0 else 0.05 * total
        t = float(np.exp(np.sum(w * logt[owner == j]) / w.sum())) if w.sum() > 0 else float(tau[k])
        out.append((r, t))
    return out                                 # fastest first


def initial_guess(circuit, f, Z, arc_order=None):
    """A start for the fit from the spectrum's own features (`relaxation_times`): the high-frequency
    resistance for a series R, the capacitive tail for a series C or CPE, and for each R || C and R || CPE
    block an arc of the distribution (R its weight, C = tau / R).  arc_order: the blocks' rank by expected
    time constant (0 = fastest); default their order in the circuit."""
    blocks = parse(circuit)
    arc_blocks = [i for i, b in enumerate(blocks) if len(b) == 2 or b[0].startswith("W")]
    R_inf, tau, R, inv_C = relaxation_times(f, Z)
    arcs = _arcs(tau, R, len(arc_blocks)) if arc_blocks else []
    rank = arc_order if arc_order is not None else list(range(len(arc_blocks)))
    by_block = {i: arcs[r] for i, r in zip(arc_blocks, rank)}
    out = []
    for i, block in enumerate(blocks):
        if i in by_block:
            r, t = by_block[i]
            r = max(r, 1e-6 * max(float(np.abs(Z).max()), 1e-300))
            for e in block:
                if e.startswith("W"):
                    out += [r, 2.5 * t]             # a Warburg's DRT peaks near tau / 2.5
                elif e.startswith("R"):
                    out.append(r)
                elif e.startswith("CPE"):
                    out += [t / r, 0.9]
                else:
                    out.append(t / r)
            continue
        for e in block:
            if e.startswith("R"):
                out.append(max(R_inf, 1e-6 * float(np.abs(Z).min())))
            elif e.startswith("CPE"):
                out += [1.0 / inv_C if inv_C > 0 else 1e-3, 0.9]
            else:
                out.append(1.0 / inv_C if inv_C > 0 else 1e-3)
    return out


def decade_guess(circuit, f, Z):
    """A second start: the resistances share Re Z(f_min) and the blocks' characteristic frequencies share
    the measured decades (fastest block at the highest frequency)."""
    names = parameter_names(circuit)
    n_r = sum(1 for n, _ in names if n.startswith("R") or n.endswith("_R"))
    R_tot = max(float(Z[np.argmin(f)].real), 1e-6 * float(np.abs(Z).max()))
    fr = np.geomspace(f.max() / 10, f.min() * 10, max(n_r, 1))
    out, k = [], 0
    for n, _ in names:
        if n.startswith("R") or n.endswith("_R"):
            out.append(R_tot / n_r)
        elif n.endswith("_a"):
            out.append(0.9)
        elif n.endswith("_tau"):
            out.append(1.0 / (2 * np.pi * fr[min(k, len(fr) - 1)]))
            k += 1
        else:
            out.append(1.0 / (2 * np.pi * fr[min(k, len(fr) - 1)] * R_tot / n_r))
            k += 1
    return out


def best_fit(circuit, f, Z, starts=(), reorder=True):
    """The best `fit` (lowest rms) from the given starts, the spectrum's relaxation times
    (`initial_guess`) and `decade_guess`; None when no start can be fitted."""
    best = None
    for start in list(starts) + [initial_guess(circuit, f, Z), decade_guess(circuit, f, Z)]:
        try:
            fitted = fit(circuit, f, Z, start, reorder=reorder)
        except (ValueError, np.linalg.LinAlgError):
            continue
        if best is None or fitted.rms < 0.8 * best.rms:
            best = fitted
    return best
