"""Equivalent circuits: evaluation, least-squares fit (scipy) and a Kramers-Kronig (Lin-KK) test.

A circuit is a string of elements in series, joined by '-'; 'p(A,B)' puts two elements in
parallel.  Elements (impedance of one element, omega = 2 pi f):

    R<name>    Z = R                         (ohm m^2)
    C<name>    Z = 1 / (i omega C)           (F/m^2)
    CPE<name>  Z = 1 / (Q (i omega)^a)       (Q in F s^(a-1) / m^2, 0 < a <= 1)

Example (the default for a stack with two interfaces): "p(R0,C0)-p(R1,CPE1)-p(R2,CPE2)": bulk
resistance with the geometric capacitance, then one R || CPE per interface.

Blocks of the same form are numbered by time constant, fastest first (`canonical`).
The fit minimises sum |(Z_model - Z) / |Z||^2 over the log of the positive parameters with
scipy.optimize.least_squares; standard errors come from the Jacobian at the optimum,
cov = s^2 (J^T J)^-1.  The Kramers-Kronig test is the linear Lin-KK fit of Schoenleber et al.,
Electrochim. Acta 131 (2014) 20: Z is fitted by R0 + sum_k R_k / (1 + i omega tau_k) (+ 1/(i omega C)
for a capacitive tail) with tau_k log-spaced over the measured range; the residuals relative to
|Z| are returned.
"""
from __future__ import annotations

import re

import numpy as np



def parse(circuit):
    """[[element, ...], ...]: the series blocks, each a list of parallel elements."""
    blocks = []
    for part in circuit.replace(" ", "").split("-"):
        m = re.fullmatch(r"p\((.+)\)", part)
        names = m.group(1).split(",") if m else [part]
        for n in names:
            if not re.fullmatch(r"(R|C|CPE)\w*", n):
                raise ValueError(f"unknown circuit element {n!r} (R, C or CPE followed by a name)")
        blocks.append(names)
    return blocks


def parameter_names(circuit):
    """(name, unit) of every fitted parameter, in order."""
    out = []
    for block in parse(circuit):
        for e in block:
            if e.startswith("CPE"):
                out += [(f"{e}_Q", "F s^(a-1)/m^2"), (f"{e}_a", "1")]
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
            elif e.startswith("R"):
                Y = Y + 1.0 / next(it)
            else:
                Y = Y + 1j * omega * next(it)
        Z = Z + 1.0 / Y
    return Z


def fit(circuit, f, Z, initial):
    """Least-squares fit.  Returns (params, standard errors, relative rms residual)."""
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
    is_R = np.array([n.startswith("R") for n in names])
    zmin, zmax = float(np.min(np.abs(Z))), float(np.max(np.abs(Z)))
    lo = np.where(is_exp, 0.3, np.where(is_R, np.log(1e-9 * zmin), np.log(1e-15)))
    hi = np.where(is_exp, 1.0, np.where(is_R, np.log(1e2 * zmax), np.log(1e6)))
    from scipy.optimize import least_squares       # 0.4 s to import: only when a fit runs
    sol = least_squares(residual, np.clip(u0, lo + 1e-9, hi - 1e-9), bounds=(lo, hi), x_scale="jac", max_nfev=4000)
    p = unpack(sol.x)
    dof = max(1, 2 * len(f) - len(p))
    s2 = float(np.sum(sol.fun ** 2)) / dof
    try:
        cov = np.linalg.pinv(sol.jac.T @ sol.jac) * s2
        se_u = np.sqrt(np.maximum(np.diag(cov), 0.0))
    except np.linalg.LinAlgError:
        se_u = np.full(p.size, np.nan)
    se = np.where(is_exp, se_u, p * se_u)          # d exp(u) = exp(u) du
    p, se = canonical(circuit, p, se)
    return p, se, float(np.sqrt(np.mean(sol.fun ** 2)))


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


def initial_guess(circuit, f, Z):
    """A start for the fit from the spectrum: the resistances share Re Z(f_min) by decades of the
    arcs' characteristic frequencies; capacitances from the frequency of each block."""
    names = parameter_names(circuit)
    n_r = sum(1 for n, _ in names if n.startswith("R"))
    R_tot = max(float(Z[np.argmin(f)].real), 1e-300)
    fr = np.geomspace(f.max() / 10, f.min() * 10, max(n_r, 1))
    out, k = [], 0
    for n, _ in names:
        if n.startswith("R"):
            out.append(R_tot / n_r)
        elif n.endswith("_a"):
            out.append(0.9)
        else:
            out.append(1.0 / (2 * np.pi * fr[min(k, len(fr) - 1)] * R_tot / n_r))
            k += 1
    return out
