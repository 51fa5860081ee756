"""Compiled (numba) kernels of the native solver: the same equations as the NumPy code, fused.

Why: a NumPy Newton iteration makes ~20 vectorized passes over the cells (occupancies, the
Bernoulli function twice, flux derivatives, COO assembly, band layout, row maxima) and the
Poisson-Fermi-Dirac predictor makes ~10 more per iteration; on meshes of thousands of cells that
costs several times the banded LU itself.  Each kernel here makes one pass and evaluates each
transcendental once per cell and species.

The kernels implement, term by term:

* `predictor_newton`: `sim.pnp.predictor._newton` (Newton with Armijo line search on the convex
  energy E(psi); the Hessian is tridiagonal and diagonally dominant, solved by the Thomas
  algorithm), with softplus(w) = max(w, 0) + log1p(e^-|w|), theta = 1 / (1 + e^-w),
  1 - theta = 1 / (1 + e^w) from the one exponential e^-|w|; optionally handing the last
  correction to the coupled Newton (`handoff`).
* `phi_terms`: `sim.pnp.operator._phi` (the effective potential Phi = z psi + m - ln c_max -
  ln(1 - theta) and d Phi / d c).
* `face_terms`: `sim.pnp.operator.face_fluxes` without interface kinetics (the SEDAN
  Scharfetter-Gummel flux and its derivatives, B(t) = t / (e^t - 1); B(-t) = t + B(t), so one
  exponential per face, `_bernoulli_pair`).
* `boundary_terms`: `sim.pnp.operator.boundary_terms` itself (half-cell fluxes to the boundary
  states), compiled as written with `_bernoulli` for `bernoulli_scalar`.
* `occupancy_from_w`: `sim.pnp.newton.from_w`, c = c_max / (1 + e^-w).
* `jacobian_band`: `sim.pnp.operator.jacobian` + `sim.pnp.newton.newton_step_matrix` + `row_band`
  + `lapack_band` + the row equilibration of `newton`, written straight into LAPACK gbsv storage,
  transposed (abT[j, kl + ku + i - j] = A[i, j]: each column's band contiguous), as `band_solve`
  takes it.
* `residual_assemble`: `sim.pnp.operator.residual` after the fluxes (Poisson, the balances, the
  storage term), interleaved as Newton's unknowns, in the NumPy code's order of operations.
* `band_solve`: LAPACK gbsv itself (banded LU with partial pivoting, then the two triangular
  solves), the same operations in the same order.
* `state_residual`, `newton_loop`: `sim.pnp.operator.residual_vector` with its flux cache in one call,
  and `sim.pnp.newton.newton`'s whole loop (open and transient problems without interface kinetics)
  on these kernels: the same iteration with no Python per iteration.

Results agree with the NumPy path to rounding (the exponentials and sums are evaluated in another
order); tests/test_kernels.py checks 1e-12.  This module imports numba: load it only through
`sim.pnp.kernel_policy`, which decides when compiling pays.
"""
from __future__ import annotations

import math
import types

import numba
import numpy as np

from sim.pnp import operator
from sim.pnp.operator import SMALL_T      # the Bernoulli function's series threshold, as the NumPy code

_jit = numba.njit(cache=True, nogil=True)


@_jit
def _bernoulli(t):
    """B(t) = t / (e^t - 1) and B'(t) (series below |t| < 1e-4, 0 where e^t overflows)."""
    if abs(t) < SMALL_T:
        return 1.0 - t / 2 + t * t / 12, -0.5 + t / 6 - t ** 3 / 180
    B = t / math.expm1(t)
    if math.isnan(B):
        B = 0.0
    return B, (B / t) * (1.0 - B) - B


@_jit
def _bernoulli_pair(t):
    """B(t), B'(t), B(-t), B'(-t) from one exponential: with u = |t|, B(u) = u / (e^u - 1) directly
    (no cancellation for u >= 0) and B(-u) = u + B(u), B'(-u) = -1 - B'(u) (exact identities; both
    sums add numbers of one sign, so they are as accurate as the direct formula, and more so for
    B'(-u) at large u, where (B/t)(1 - B) - B cancels).  The series of `_bernoulli` below SMALL_T."""
    if abs(t) < SMALL_T:
        return (1.0 - t / 2 + t * t / 12, -0.5 + t / 6 - t ** 3 / 180,
                1.0 + t / 2 + t * t / 12, -0.5 - t / 6 + t ** 3 / 180)
    u = abs(t)
    Bu = u / math.expm1(u)                # 0 once e^u overflows
    dBu = (Bu / u) * (1.0 - Bu) - Bu
    Bm, dBm = u + Bu, -1.0 - dBu
    if t > 0.0:
        return Bu, dBu, Bm, dBm
    return Bm, dBm, Bu, dBu


@_jit
def _pfd_state(psi, d, t, base, z, present, cmax, c_bg, dx, a, ab, psi_bc, F, psi_t, theta, om):
    """At psi_t = psi + t d (written to psi_t), in one pass: the predictor's energy E(psi_t), and
    min and max of psi_t; fills theta and 1 - theta per species and cell (base = eta - m)."""
    S, n = present.shape
    e = 0.0
    bulk, comp = 0.0, 0.0                 # Neumaier-compensated: E is compared to 1e-15 relative
    lo, hi = math.inf, -math.inf
    prev = 0.0
    for k in range(n):
        x_k = psi[k] + t * d[k]
        psi_t[k] = x_k
        lo, hi = min(lo, x_k), max(hi, x_k)
        if k > 0:
            dp = x_k - prev
            e += a[k - 1] * dp * dp
        prev = x_k
        cell = c_bg[k] * x_k
        for s in range(S):
            if present[s, k]:
                w = base[s, k] - z[s] * x_k
                ex = math.exp(-abs(w))
                # log1p(x) = x - x^2/2 + x^3/3 - x^4/4 + O(x^5): below 1e-5 the rest is under 2e-21 x,
                # a tenth of an ulp, and the series is a third of log1p's cost (dilute cells all take it)
                lg = ex * (1.0 - ex * (0.5 - ex * (1.0 / 3.0 - 0.25 * ex))) if ex < 1e-5 else math.log1p(ex)
                inv = 1.0 / (1.0 + ex)
                if w >= 0.0:
                    theta[s, k], om[s, k] = inv, ex * inv
                else:
                    theta[s, k], om[s, k] = ex * inv, inv
                cell += cmax[s, k] * (max(w, 0.0) + lg)          # c_max softplus(w)
        x = dx[k] * cell
        tt = bulk + x
        comp += (bulk - tt) + x if abs(bulk) >= abs(x) else (x - tt) + bulk
        bulk = tt
    e *= 0.5
    if not math.isnan(psi_bc[0]):
        e += 0.5 * ab[0] * (psi_t[0] - psi_bc[0]) ** 2
    if not math.isnan(psi_bc[1]):
        e += 0.5 * ab[1] * (psi_t[n - 1] - psi_bc[1]) ** 2
    return e + F * (bulk + comp), lo, hi


@_jit
def predictor_newton(psi, eta, mu0, z, present, cmax, c_bg, dx, a, ab, psi_bc, F, tol, max_iter, handoff=0.0):
    """Newton with Armijo line search on the predictor's energy (see the module docstring).
    Returns (psi, theta, iterations, ok).

    Each iteration makes three passes over the cells: the gradient and Hessian with the Thomas
    algorithm's forward elimination, the back substitution with the step's clipping and slope, and
    (per line-search trial) the trial state with its energy (`_pfd_state`).

    handoff > 0: also stop after two full steps s_{k-1} > s_k (sizes relative to max(1, psi range),
    s_k <= 1e-4) whose quadratic-convergence estimate of the remaining error, C s_k^2 with
    C = s_k / s_{k-1}^2, is below handoff: the coupled Newton that follows corrects that error in
    its one iteration, so the predictor need not spend a last iteration confirming a step it will
    not take (`newton.solve_equilibrium` passes a tenth of the coupled tolerance).  With
    handoff = 0 the loop is `predictor._newton`'s."""
    S, n = present.shape
    base = eta - mu0
    theta, om = np.zeros((S, n)), np.zeros((S, n))
    th_t, om_t = np.zeros((S, n)), np.zeros((S, n))
    grad, d, cp, psi_t = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    E, lo, hi = _pfd_state(psi, d, 0.0, base, z, present, cmax, c_bg, dx, a, ab, psi_bc, F, psi_t, theta, om)
    psi = psi_t.copy()
    s_prev = math.inf                     # the last step's relative size (inf: damped, or none yet)
    for it in range(max_iter):
        # gradient dE/dpsi = -(Poisson residual) and Hessian diagonal (off-diagonals -a), in the order
        # of the NumPy code's sums; Thomas forward elimination on the fly (H d = -grad), one division
        # per row (the reciprocal pivot multiplies both: the division is on the recurrence's path)
        for k in range(n):
            rho, drho = -c_bg[k], 0.0
            for s in range(S):
                if present[s, k]:
                    q = z[s] * cmax[s, k] * theta[s, k]
                    rho += q
                    drho -= z[s] * q * om[s, k]
            g = -F * dx[k] * rho
            dg = -F * dx[k] * drho
            if k > 0:
                g -= a[k - 1] * (psi[k - 1] - psi[k])
                dg += a[k - 1]
            if k < n - 1:
                g += a[k] * (psi[k] - psi[k + 1])
                dg += a[k]
            if k == 0 and not math.isnan(psi_bc[0]):
                g += ab[0] * (psi[0] - psi_bc[0])
                dg += ab[0]
            if k == n - 1 and not math.isnan(psi_bc[1]):
                g += ab[1] * (psi[k] - psi_bc[1])
                dg += ab[1]
            grad[k] = g
            piv = dg + a[k - 1] * cp[k - 1] if k > 0 else dg
            if piv == 0.0 or not math.isfinite(piv):
                return psi, theta, it, False
            inv = 1.0 / piv
            cp[k] = -a[k] * inv if k < n - 1 else 0.0
            d[k] = (-g + a[k - 1] * d[k - 1]) * inv if k > 0 else -g * inv
        # back substitution, the step clipped to 50 kT/e, the slope grad . d and the largest |d|
        slope, big = 0.0, 0.0
        nxt = d[n - 1]
        for k in range(n - 1, -1, -1):
            dk = d[k] - cp[k] * nxt if k < n - 1 else d[k]
            nxt = dk
            dk = min(max(dk, -50.0), 50.0)
            d[k] = dk
            slope += grad[k] * dk
            big = max(big, abs(dk))
        t = 1.0
        E_t = E
        for _ in range(60):
            E_t, lo, hi = _pfd_state(psi, d, t, base, z, present, cmax, c_bg, dx, a, ab, psi_bc, F, psi_t, th_t, om_t)
            if E_t <= E + 1e-4 * t * slope or abs(E_t - E) <= 1e-15 * abs(E) or not math.isfinite(E):
                break
            t *= 0.5
        if not math.isfinite(E_t):
            return psi, theta, it, False
        psi, psi_t = psi_t, psi
        theta, th_t = th_t, theta
        om, om_t = om_t, om
        E = E_t
        scale = max(1.0, hi - lo)
        if t == 1.0 and big < tol * scale:
            return psi, theta, it + 1, True
        s = big / scale if t == 1.0 else math.inf
        if handoff > 0.0 and s <= 1e-4 and s < s_prev and s * s * s < handoff * s_prev * s_prev:
            return psi, theta, it + 1, True
        s_prev = s
    return psi, theta, max_iter, False


@_jit
def phi_terms(z, psi, mu0, present, c_max, c, w, use_w):
    """Phi (S, N), d Phi / d c, theta, 1 - theta and c_max (1 where absent), as `operator._phi`:
    from the logit w when use_w (accurate 1 - theta near saturation), from c otherwise."""
    S, n = present.shape
    Phi, dPhi_dc = np.empty((S, n)), np.empty((S, n))
    theta, om, cmax = np.empty((S, n)), np.empty((S, n)), np.empty((S, n))
    for s in range(S):
        last_cm, log_cm = 1.0, 0.0         # c_max is uniform over a layer: its log is taken once per run
        for k in range(n):
            if present[s, k]:
                cm = c_max[s, k]
                if use_w:
                    x = w[s, k]
                    ex = math.exp(-abs(x))
                    inv = 1.0 / (1.0 + ex)
                    th, o = (inv, ex * inv) if x >= 0.0 else (ex * inv, inv)
                    # log1p by its series below 1e-5, as in `_pfd_state`
                    lg = ex * (1.0 - ex * (0.5 - ex * (1.0 / 3.0 - 0.25 * ex))) if ex < 1e-5 else math.log1p(ex)
                    log_om = -(max(x, 0.0) + lg)
                else:
                    th = c[s, k] / cm
                    o = 1.0 - th
                    log_om = math.log(o)
            else:                          # absent: theta = 0, c_max = 1, as `operator.occupancy`
                cm, th, o, log_om = 1.0, 0.0, 1.0, 0.0
            if cm != last_cm:
                last_cm, log_cm = cm, math.log(cm)
            cmax[s, k], theta[s, k], om[s, k] = cm, th, o
            Phi[s, k] = z[s] * psi[k] + mu0[s, k] - log_cm - log_om
            dPhi_dc[s, k] = 1.0 / (cm * o)
    return Phi, dPhi_dc, theta, om, cmax


@_jit
def face_terms(Phi, dPhi_dc, om, cmax, c, z, D_f, h, open_f):
    """Interior face fluxes N and dN/dc_K, dN/dc_L, dN/dpsi_L (each (S, N-1)), as
    `operator.face_fluxes`: N = D_f (1 - theta_f) / h [B(dPhi) c_K - B(-dPhi) c_L]."""
    S, n = Phi.shape
    N, dK = np.empty((S, n - 1)), np.empty((S, n - 1))
    dL, dpL = np.empty((S, n - 1)), np.empty((S, n - 1))
    for s in range(S):
        for f in range(n - 1):
            dP = Phi[s, f + 1] - Phi[s, f] if open_f[s, f] else 0.0
            B1, dB1, B2, dB2 = _bernoulli_pair(dP)          # B(dP), B(-dP): one exponential per face
            cK, cL = c[s, f], c[s, f + 1]
            A = D_f[s, f] * (0.5 * (om[s, f] + om[s, f + 1])) / h[f]
            Sv = B1 * cK - B2 * cL
            G = dB1 * cK + dB2 * cL
            N[s, f] = A * Sv
            dK[s, f] = A * B1 - A * G * dPhi_dc[s, f] + (-D_f[s, f] / (2 * h[f] * cmax[s, f])) * Sv
            dL[s, f] = -A * B2 + A * G * dPhi_dc[s, f + 1] + (-D_f[s, f] / (2 * h[f] * cmax[s, f + 1])) * Sv
            dpL[s, f] = A * G * z[s]
    return N, dK, dL, dpL


def _compiled_as_written(fn, **names):
    """fn compiled by numba with some of its global names bound to other (compiled) functions."""
    return _jit(types.FunctionType(fn.__code__, {**fn.__globals__, **names}, fn.__name__, fn.__defaults__))


# the NumPy path's own loop, compiled: one source for both paths
boundary_terms = _compiled_as_written(operator.boundary_terms, bernoulli_scalar=_bernoulli)


@_jit
def occupancy_from_w(present, c_max, w):
    """c = c_max / (1 + e^-w) where present, 0 elsewhere: `newton.from_w`."""
    S, n = present.shape
    c = np.zeros((S, n))
    for s in range(S):
        for k in range(n):
            if present[s, k]:
                x = w[s, k]
                c[s, k] = c_max[s, k] / (1.0 + math.exp(-x)) if x > -700.0 else c_max[s, k] * math.exp(x)
    return c


@_jit
def residual_assemble(psi, c, z, c_bg, eps_f, V_T, h, eps_b, psi_bc, dx, F, row_psi, N, Nb, present, row_c,
                      flux_in, c_old, dt, storage, gauge_row, r):
    """`operator.residual` after the fluxes, interleaved as Newton's unknowns into r ((1 + S) N):
    r[(1 + S) k] = R_psi[k], r[(1 + S) k + 1 + s] = R_c[s, k], each term in the NumPy code's order.
    N (S, N-1), Nb (2, S): face and boundary fluxes; flux_in (2, S): prescribed inflows; storage:
    add dx (c - c_old) / dt; gauge_row: R_psi[-1] = psi[-1] (no Dirichlet potential).  Not for
    steady closed problems (their inventory rows are added by `operator._closed_rows`)."""
    S, n = c.shape
    m = 1 + S
    for k in range(n):
        P = 0.0
        if k < n - 1:
            P += eps_f[k] * V_T * (psi[k + 1] - psi[k]) / h[k]
        if k > 0:
            P -= eps_f[k - 1] * V_T * (psi[k] - psi[k - 1]) / h[k - 1]
        if k == 0 and math.isfinite(psi_bc[0]):
            P += eps_b[0] * V_T * (psi_bc[0] - psi[0]) / (dx[0] / 2)
        if k == n - 1 and math.isfinite(psi_bc[1]):
            P += eps_b[1] * V_T * (psi_bc[1] - psi[k]) / (dx[k] / 2)
        rho = z[0] * c[0, k]
        for s in range(1, S):
            rho += z[s] * c[s, k]
        rho -= c_bg[k]
        P += F * rho * dx[k]
        r[m * k] = P * row_psi[k]
        for s in range(S):
            d = 0.0
            if k < n - 1:
                d += N[s, k]
            if k > 0:
                d -= N[s, k - 1]
            if k == 0:
                d -= Nb[0, s]
            if k == n - 1:
                d += Nb[1, s]
            if k == 0:
                d -= flux_in[0, s]
            if k == n - 1:
                d -= flux_in[1, s]
            if storage:
                d += dx[k] * (c[s, k] - c_old[s, k]) / dt
            r[m * k + 1 + s] = d * row_c[s, k] if present[s, k] else 0.0
    if gauge_row:
        r[m * (n - 1)] = psi[n - 1]
    return r


@numba.njit(cache=True, nogil=True, inline="always")
def _put(cols, vals, cnt, j, v, dcdw):
    """Collect J[i, j] = v of the row being built, scaled by dc/dw of column j."""
    cols[cnt] = j
    vals[cnt] = v * dcdw[j]


@numba.njit(cache=True, nogil=True, inline="always")
def _emit(abT, bw, i, cols, vals, cnt, skip, rowmax):
    """Write row i, whose nonzero entries J[i, cols[t]] dc/dw = vals[t] (t < cnt) were collected by
    `_put`, divided by the row's largest |entry| into gbsv storage (abT[j, 2 bw + i - j]; the rest
    of the band is already zero); a skipped row becomes the identity row.  The same values as scaling
    and equilibrating the whole band row: zeros change neither."""
    if skip[i]:
        rowmax[i] = 1.0
        abT[i, 2 * bw] = 1.0
        return
    big = 0.0
    for t in range(cnt):
        av = abs(vals[t])
        if av > big:
            big = av
    big = 1.0 if big == 0.0 else big
    rowmax[i] = big
    inv = 1.0 / big
    for t in range(cnt):
        j = cols[t]
        abT[j, 2 * bw + i - j] = vals[t] * inv


@_jit
def jacobian_band(a, row_psi, F, z, dx, bc_psi, row_c, dK, dL, dpL, dNb_dc, dNb_dpsi, inv_dt, c, om, present,
                  gauge_row, abT):
    """`operator.jacobian` of an open or transient problem, in (psi, w) variables, written straight
    into gbsv storage and row-equilibrated (as `newton_step_matrix`, `row_band`, `lapack_band` and
    the equilibration in `newton` do with COO triplets).

    Rows (interleaved unknown i = m k + a, a = 0: psi, a = 1 + s: species s), before the column
    scaling by dc/dw:
      Poisson k:     d/dpsi_k = -(a_{k-1} + a_k + bc_k) row_psi_k, d/dpsi_{k+-1} = a row_psi_k,
                     d/dc_{s,k} = F z_s dx_k row_psi_k
      Nernst-Planck: d/dc_k = (dN/dc_K|_k - dN/dc_L|_{k-1} -+ boundary + dx/dt) row_c,
                     d/dc_{k+1} = dN/dc_L|_k row_c, d/dc_{k-1} = -dN/dc_K|_{k-1} row_c,
                     d/dpsi_k = (-dN/dpsi_L|_k - dN/dpsi_L|_{k-1} -+ boundary) row_c,
                     d/dpsi_{k+-1} = dN/dpsi_L row_c.
    The band (2 bw + 1 entries per row) is zeroed in one pass, then each row's 3 + S or 6 nonzero
    entries are collected, scaled by dc/dw = c (1 - theta) in species columns (`newton._w_columns`;
    om: 1 - theta) and written (`_emit`).  Rows replaced by identity: absent species and, with
    gauge_row, psi in the last cell.  abT: a work array (m N, 3 bw + 1), reused between calls (a fresh 10 MB
    array costs more in page faults than the assembly); gbsv needs nothing in its first bw (fill-in)
    entries per column.  Returns (abT, rowmax)."""
    S, nf = dK.shape
    n = nf + 1
    m = 1 + S
    bw = 2 * m - 1
    nu = m * n
    rowmax = np.empty(nu)
    dcdw, skip = np.ones(nu), np.zeros(nu, np.bool_)
    for k in range(n):
        for s in range(S):
            if present[s, k]:
                dcdw[m * k + 1 + s] = c[s, k] * om[s, k]
            else:
                skip[m * k + 1 + s] = True
    if gauge_row:
        skip[m * (n - 1)] = True
    cols = np.empty(3 + S + 3, np.int64)
    vals = np.empty(3 + S + 3)
    for j in range(nu):
        for r in range(bw, 3 * bw + 1):
            abT[j, r] = 0.0
    for k in range(n):
        i = m * k
        d = -bc_psi[0] if k == 0 else 0.0
        if k == n - 1:
            d -= bc_psi[1]
        cnt = 0
        if k < n - 1:
            d -= a[k]
            _put(cols, vals, cnt, i + m, a[k] * row_psi[k], dcdw)
            cnt += 1
        if k > 0:
            d -= a[k - 1]
            _put(cols, vals, cnt, i - m, a[k - 1] * row_psi[k], dcdw)
            cnt += 1
        _put(cols, vals, cnt, i, d * row_psi[k], dcdw)
        cnt += 1
        for s in range(S):
            _put(cols, vals, cnt, i + 1 + s, F * z[s] * dx[k] * row_psi[k], dcdw)
            cnt += 1
        _emit(abT, bw, i, cols, vals, cnt, skip, rowmax)
        for s in range(S):
            i = m * k + 1 + s
            sc = row_c[s, k]
            dd = dx[k] * inv_dt
            dps = 0.0
            cnt = 0
            if k < n - 1:
                dd += dK[s, k]
                dps -= dpL[s, k]
                _put(cols, vals, cnt, i + m, dL[s, k] * sc, dcdw)
                _put(cols, vals, cnt + 1, i + m - 1 - s, dpL[s, k] * sc, dcdw)
                cnt += 2
            if k > 0:
                dd -= dL[s, k - 1]
                dps -= dpL[s, k - 1]
                _put(cols, vals, cnt, i - m, -dK[s, k - 1] * sc, dcdw)
                _put(cols, vals, cnt + 1, i - m - 1 - s, dpL[s, k - 1] * sc, dcdw)
                cnt += 2
            if k == 0:
                dd -= dNb_dc[0, s]
                dps -= dNb_dpsi[0, s]
            if k == n - 1:
                dd += dNb_dc[1, s]
                dps += dNb_dpsi[1, s]
            _put(cols, vals, cnt, i, dd * sc, dcdw)
            _put(cols, vals, cnt + 1, i - 1 - s, dps * sc, dcdw)
            cnt += 2
            _emit(abT, bw, i, cols, vals, cnt, skip, rowmax)
    return abT, rowmax


@_jit
def neutral_potential(eta, mu0, z, cmax, present, c_bg):
    """Root psi of rho(psi) = sum_s z_s c_max,s / (1 + e^-(eta_s - m_s - z_s psi)) - c_bg = 0
    for one cell (rho decreases in psi), by bisection on [-1000, 1000]; NaN if no sign change."""
    lo, hi = -1e3, 1e3
    for it in range(62):
        x = lo if it == 0 else (hi if it == 1 else 0.5 * (lo + hi))
        rho = -c_bg
        for s in range(z.size):
            if present[s]:
                w = eta[s] - mu0[s] - z[s] * x
                rho += z[s] * cmax[s] / (1.0 + math.exp(-w)) if w > -700.0 else 0.0
        if it == 0:
            if not rho > 0.0:
                return math.nan
        elif it == 1:
            if not rho < 0.0:
                return math.nan
        elif rho > 0.0:
            lo = x
        else:
            hi = x
    return 0.5 * (lo + hi)


@_jit
def neutral_start(eta0, mu0, z, cmax, present, c_bg, layer):
    """psi (N) of `predictor.neutral_start`: in every run of equal `layer` labels whose cells all carry
    the data of its first cell (eta0, mu0, cmax, present, c_bg equal by !=, so NaN counts as a change),
    the `neutral_potential` of that cell where it exists; 0 elsewhere."""
    S, n = present.shape
    psi = np.zeros(n)
    start = 0
    while start < n:
        stop = start + 1
        while stop < n and layer[stop] == layer[start]:
            stop += 1
        uniform = True
        for k in range(start + 1, stop):
            if c_bg[k] != c_bg[k - 1]:
                uniform = False
            for s in range(S):
                if (eta0[s, k] != eta0[s, k - 1] or mu0[s, k] != mu0[s, k - 1] or cmax[s, k] != cmax[s, k - 1]
                        or present[s, k] != present[s, k - 1]):
                    uniform = False
            if not uniform:
                break
        if uniform:
            root = neutral_potential(eta0[:, start], mu0[:, start], z, cmax[:, start], present[:, start], c_bg[start])
            if math.isfinite(root):
                psi[start:stop] = root
        start = stop
    return psi


@_jit
def band_solve(abT, kl, ku, b):
    """x of A x = b by LU with partial pivoting, as LAPACK gbsv (dgbtf2 + dgbtrs), on the transposed
    gbsv storage abT (n, 2 kl + ku + 1), abT[j, kl + ku + i - j] = A[i, j], whose first kl entries
    per column take the fill-in; abT is overwritten by the factors.  Returns (x, ok); ok is False
    for an exactly singular pivot (gbsv's info > 0).

    Why not LAPACK: for the narrow bands here (kl = ku = 3 or 7) gbsv's unblocked factorization makes
    four BLAS calls per column (idamax, dswap, dscal, dger) on vectors of 3-7 entries, and its update
    does not skip the zeros that fill half of the Jacobian's band; these loops, compiled inline,
    ran 1.4-2.2x faster on the solver's Jacobians (1k-16k cells) with the same result bit for bit
    (tests/test_kernels.py).  Per column j: the pivot p = argmax |A[j:j+km, j]|
    (km = min(kl, n - 1 - j)); rows j and p swapped over columns j..ju (ju: the last column the
    pivots so far reach); the multipliers A[j+t, j] /= A[j, j]; the rank-one update
    A[j+t, jj] -= A[j+t, j] A[j, jj] for jj in j+1..ju.  Then L y = P b forward and U x = y backward."""
    n = abT.shape[0]
    kv = kl + ku
    x = b.copy()
    piv = np.empty(n, np.int64)
    for jj in range(ku + 1, min(kv, n - 1) + 1):          # fill-in of the first columns
        for r in range(kv - jj, kl):
            abT[jj, r] = 0.0
    ju = 0
    for j in range(n):
        if j + kv < n:
            for r in range(kl):
                abT[j + kv, r] = 0.0
        km = min(kl, n - 1 - j)
        p, big = 0, abs(abT[j, kv])
        for t in range(1, km + 1):
            v = abs(abT[j, kv + t])
            if v > big:
                p, big = t, v
        piv[j] = j + p
        if big == 0.0:
            return x, False
        ju = max(ju, min(j + ku + p, n - 1))
        if p != 0:
            for jj in range(j, ju + 1):
                r1, r2 = kv + j - jj, kv + j + p - jj
                tmp = abT[jj, r1]
                abT[jj, r1] = abT[jj, r2]
                abT[jj, r2] = tmp
        inv = 1.0 / abT[j, kv]
        for t in range(1, km + 1):
            abT[j, kv + t] *= inv
        for jj in range(j + 1, ju + 1):
            u = abT[jj, kv + j - jj]
            if u != 0.0:
                base = kv + j - jj
                for t in range(1, km + 1):
                    abT[jj, base + t] -= abT[j, kv + t] * u
    for j in range(n - 1):                                  # L y = P b
        p = piv[j]
        if p != j:
            tmp = x[j]
            x[j] = x[p]
            x[p] = tmp
        xj = x[j]
        if xj != 0.0:
            for t in range(1, min(kl, n - 1 - j) + 1):
                x[j + t] -= abT[j, kv + t] * xj
    for j in range(n - 1, -1, -1):                          # U x = y
        if x[j] != 0.0:
            x[j] /= abT[j, kv]
            xj = x[j]
            for i in range(max(0, j - kv), j):
                x[i] -= abT[j, kv + i - j] * xj
    return x, True


@_jit
def state_residual(psi, c, w, z, mu0, present, c_max, D, c_bc, eta_bc, psi_bc, c_bg, eps_f, V_T, h, eps_b, dx,
                   D_f, open_f, row_psi, row_c, F, flux_in, c_old, dt, storage, gauge_row):
    """`operator.residual_vector` with its flux cache, in one call: `phi_terms` (from w), `face_terms`,
    `boundary_terms` and `residual_assemble`.  Returns (r, dN/dc_K, dN/dc_L, dN/dpsi_L, dNb/dc, dNb/dpsi,
    1 - theta): the residual and what `jacobian_band` needs at the same state."""
    S, n = present.shape
    Phi, dPhi_dc, theta, om, cmax = phi_terms(z, psi, mu0, present, c_max, c, w, True)
    N, dK, dL, dpL = face_terms(Phi, dPhi_dc, om, cmax, c, z, D_f, h, open_f)
    Nb, dNb_dc, dNb_dpsi = boundary_terms(psi, c, Phi, dPhi_dc, om, cmax, z, mu0, D, dx, present, c_bc, eta_bc,
                                          psi_bc)
    r = residual_assemble(psi, c, z, c_bg, eps_f, V_T, h, eps_b, psi_bc, dx, F, row_psi, N, Nb, present, row_c,
                          flux_in, c_old, dt, storage, gauge_row, np.empty((1 + S) * n))
    return r, dK, dL, dpL, dNb_dc, dNb_dpsi, om


@_jit
def _max_abs(x):
    """max |x_i|, NaN if any x_i is NaN (as np.abs(x).max())."""
    big = 0.0
    for i in range(x.size):
        v = abs(x[i])
        if v > big:
            big = v
        elif v != v:
            return math.nan
    return big


@_jit
def _scaled_norm(r, rowmax):
    """||r / rowmax||_2 (the merit of `newton.newton`)."""
    acc = 0.0
    for i in range(r.size):
        q = r[i] / rowmax[i]
        acc += q * q
    return math.sqrt(acc)


#: status codes of `newton_loop` (newton.py turns them into its exceptions)
CONVERGED, NONFINITE_RESIDUAL, SINGULAR, NONFINITE_UPDATE, DIVERGING, NO_CONVERGENCE = 0, 1, 2, 3, 4, 5


@_jit
def newton_loop(psi, c, w, z, mu0, present, c_max, D, c_bc, eta_bc, psi_bc, c_bg, eps_f, V_T, h, eps_b, dx,
                D_f, open_f, row_psi, row_c, F, flux_in, c_old, dt, storage, gauge_row, a, bc_psi, inv_dt,
                tol, floor_tol, max_backtracks, max_iter, max_step, divergence_step, final_residual, abT, history):
    """`newton.newton` on an open or transient problem without interface kinetics, the whole loop
    compiled: the same iteration (Jacobian by `jacobian_band`, update by `band_solve`, damping, Armijo
    backtracking on ||D^-1 R||_2, the convergence and round-off-floor tests) on the same kernels, so
    that a Newton iteration costs no Python.  history (max_iter + 1): max |R| per iteration, then at
    the converged state (NaN when not evaluated).  Returns (psi, c, w, status, iterations, last step,
    round-off stop, final max |R|); status is one of the codes above."""
    S, n = present.shape
    m = 1 + S
    bw = 2 * m - 1
    nu = m * n
    r, dK, dL, dpL, dNb_dc, dNb_dpsi, om = state_residual(
        psi, c, w, z, mu0, present, c_max, D, c_bc, eta_bc, psi_bc, c_bg, eps_f, V_T, h, eps_b, dx, D_f, open_f,
        row_psi, row_c, F, flux_in, c_old, dt, storage, gauge_row)
    prev_step, prev_res = math.inf, math.inf
    step = math.nan
    rhs = np.empty(nu)
    dpsi, dw = np.empty(n), np.empty((S, n))
    psi_t, w_t = np.empty(n), np.empty((S, n))
    for it in range(max_iter):
        rnorm = _max_abs(r)
        if not math.isfinite(rnorm):
            return psi, c, w, NONFINITE_RESIDUAL, it, step, False, math.nan
        history[it] = rnorm
        abT, rowmax = jacobian_band(a, row_psi, F, z, dx, bc_psi, row_c, dK, dL, dpL, dNb_dc, dNb_dpsi, inv_dt, c,
                                    om, present, gauge_row, abT)
        for i in range(nu):
            rhs[i] = -r[i] / rowmax[i]
        eq_res = _max_abs(rhs)
        delta, ok = band_solve(abT, bw, bw, rhs)
        if not ok:
            return psi, c, w, SINGULAR, it, step, False, math.nan
        lo, hi = math.inf, -math.inf
        big_psi, big_w = 0.0, 0.0
        for k in range(n):
            dpsi[k] = delta[m * k]
            lo, hi = min(lo, psi[k]), max(hi, psi[k])
            for s in range(S):
                dw[s, k] = delta[m * k + 1 + s] if present[s, k] else 0.0
        for i in range(nu):
            if not math.isfinite(delta[i]):
                return psi, c, w, NONFINITE_UPDATE, it, step, False, math.nan
        for k in range(n):
            big_psi = max(big_psi, abs(dpsi[k]))
            for s in range(S):
                big_w = max(big_w, abs(dw[s, k]))
        step = max(big_psi / max(1.0, hi - lo), big_w)
        if step > divergence_step:
            return psi, c, w, DIVERGING, it, step, False, math.nan
        lim_psi = max(max_step, 0.5 * (hi - lo))               # `newton.damping`
        alpha = 1.0
        if big_w > max_step:
            alpha = max_step / big_w
        if big_psi > lim_psi:
            alpha = min(alpha, lim_psi / big_psi)
        merit0 = _scaled_norm(r, rowmax)
        have_r = True
        r_t, dK_t, dL_t, dpL_t, dNb_dc_t, dNb_dpsi_t, om_t = r, dK, dL, dpL, dNb_dc, dNb_dpsi, om
        c_t = c
        for _ in range(max_backtracks + 1):
            psi_t = psi + alpha * dpsi
            w_t = w + alpha * dw
            c_t = occupancy_from_w(present, c_max, w_t)
            if alpha == 1.0 and step < min(tol, floor_tol) and not final_residual:
                have_r = False          # converged below the floor: no merit test reads it, and no report
                break
            r_t, dK_t, dL_t, dpL_t, dNb_dc_t, dNb_dpsi_t, om_t = state_residual(
                psi_t, c_t, w_t, z, mu0, present, c_max, D, c_bc, eta_bc, psi_bc, c_bg, eps_f, V_T, h, eps_b, dx,
                D_f, open_f, row_psi, row_c, F, flux_in, c_old, dt, storage, gauge_row)
            if _scaled_norm(r_t, rowmax) <= (1.0 - 1e-4 * alpha) * merit0 or step < floor_tol:
                break
            alpha *= 0.5
        psi, w, c = psi_t, w_t, c_t
        r, dK, dL, dpL, dNb_dc, dNb_dpsi, om = r_t, dK_t, dL_t, dpL_t, dNb_dc_t, dNb_dpsi_t, om_t
        floor = alpha == 1.0 and step < floor_tol and step >= 0.25 * prev_step and eq_res >= 0.25 * prev_res
        if (alpha == 1.0 and step < tol) or floor:
            final = _max_abs(r) if have_r else math.nan
            history[it + 1] = final
            return psi, c, w, CONVERGED, it + 1, step, floor and step >= tol, final
        prev_step, prev_res = step, eq_res
    return psi, c, w, NO_CONVERGENCE, max_iter, step, False, math.nan
