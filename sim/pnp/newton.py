"""Native damped Newton solver with continuation, on the shared discrete operator.

Unknowns are psi and the logit of the site occupancy, w = ln(theta / (1 - theta)), so that
every iterate has 0 < c < c_max: c = c_max / (1 + e^-w), dc/dw = c (1 - theta).  The Jacobian
is the analytic one of `operator.jacobian` with its concentration columns scaled by dc/dw.  It
is block-tridiagonal; it is solved as a banded system (LAPACK gbsv via scipy.linalg.solve_banded,
O(N)) or, when a closed system adds dense inventory rows, by sparse LU.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..errors import ConvergenceError
from . import operator as op


@dataclass
class SolverOptions:
    tol: float = 1e-10            # Newton update: logit(theta), and psi relative to max(1, psi range)
    max_iter: int = 60
    max_step: float = 8.0         # largest update per iteration (damping)
    divergence_step: float = 1e4  # an update this large means divergence: give up at once
    continuation: bool = True
    min_dlam: float = 1e-4
    max_lambda_steps: int = 400


@dataclass
class SolveStats:
    newton_iterations: int = 0
    lambda_steps: int = 0
    rejected_lambda_steps: int = 0
    residual_history: list = field(default_factory=list)
    final_residual: float = np.nan
    wall_time_s: float = 0.0


def to_w(p, c):
    cmax = np.where(p.present, p.c_max, 1.0)
    th = np.clip(np.where(p.present, c / cmax, 0.5), 1e-300, 1 - 1e-16)
    return np.log(th) - np.log1p(-th)


def from_w(p, w):
    cmax = np.where(p.present, p.c_max, 1.0)
    return np.where(p.present, cmax / (1.0 + np.exp(-w)), 0.0)


def interleave(psi, cs):
    return np.vstack([psi[None, :], cs]).T.ravel()


def split(y, S):
    Y = y.reshape(-1, 1 + S).T
    return Y[0], Y[1:]


def solve_linear(rows, cols, vals, n_unknowns, m, rhs, dense_rows):
    """Solve J x = rhs for a block-tridiagonal J given as COO (banded unless dense rows)."""
    if dense_rows:
        J = sp.csc_matrix((vals, (rows, cols)), shape=(n_unknowns, n_unknowns))
        return spla.spsolve(J, rhs, permc_spec="COLAMD")
    bw = 2 * m - 1
    ab = np.zeros((2 * bw + 1, n_unknowns))
    np.add.at(ab, (bw + rows - cols, cols), vals)
    return sla.solve_banded((bw, bw), ab, rhs, overwrite_ab=True, check_finite=False)


def newton_step_matrix(p, g, psi, c, dt=None, steady_closed=None):
    """Jacobian in (psi, w) variables with absent-species rows replaced by identity."""
    S = p.n_species
    m = 1 + S
    rows, cols, vals, dense = op.jacobian(p, g, psi, c, dt=dt, steady_closed=steady_closed)
    cmax = np.where(p.present, p.c_max, 1.0)
    dcdw = interleave(np.ones(p.n), np.where(p.present, c * (1.0 - c / cmax), 1.0))
    vals = vals * dcdw[cols]
    absent = interleave(np.zeros(p.n, bool), ~p.present)
    keep = ~absent[rows]
    idx = np.flatnonzero(absent)
    rows = np.concatenate([rows[keep], idx])
    cols = np.concatenate([cols[keep], idx])
    vals = np.concatenate([vals[keep], np.ones(idx.size)])
    return rows, cols, vals, dense, m


def update_norm(psi, dpsi, dw):
    """Size of a Newton update: max |d logit(theta)| and max |d psi| relative to the psi range
    (at least 1 kT/e), so that rounding in very large potentials does not stall convergence."""
    scale = max(1.0, float(np.ptp(psi)))
    return max(float(np.max(np.abs(dpsi))) / scale, float(np.max(np.abs(dw))) if dw.size else 0.0)


def damping(opts, psi, dpsi, dw):
    """Step fraction: no logit(theta) change above max_step, and no psi change above
    max(max_step, psi range / 2), so that large overpotentials are reached in a few steps."""
    big_w = float(np.max(np.abs(dw))) if dw.size else 0.0
    big_psi = float(np.max(np.abs(dpsi)))
    lim_psi = max(opts.max_step, 0.5 * float(np.ptp(psi)))
    alpha = 1.0
    if big_w > opts.max_step:
        alpha = opts.max_step / big_w
    if big_psi > lim_psi:
        alpha = min(alpha, lim_psi / big_psi)
    return alpha


def newton(p, g, psi, c, opts, stats, c_old=None, dt=None, boundary_flux_in=None):
    """Damped Newton on the residual at fixed parameters.  Returns (psi, c) or raises."""
    S = p.n_species
    w = to_w(p, c)
    steady_closed = p.closed and dt is None
    history = []
    for it in range(opts.max_iter):
        R_psi, R_c = op.residual(p, g, psi, c, c_old=c_old, dt=dt, steady_closed=steady_closed,
                                 boundary_flux_in=boundary_flux_in)
        r = interleave(R_psi, R_c)
        rnorm = float(np.max(np.abs(r))) if r.size else 0.0
        if not np.isfinite(rnorm):
            raise ConvergenceError("Newton: residual is NaN or inf", history,
                                   hint="ramp the parameter (continuation) or refine the mesh")
        history.append(rnorm)
        rows, cols, vals, dense, m = newton_step_matrix(p, g, psi, c, dt=dt, steady_closed=steady_closed)
        # row equilibration: depleted cells have NP rows of size ~c, far below the others
        rowmax = np.zeros(r.size)
        np.maximum.at(rowmax, rows, np.abs(vals))
        rowmax[rowmax == 0] = 1.0
        with np.errstate(all="ignore"):
            delta = solve_linear(rows, cols, vals / rowmax[rows], r.size, m, -r / rowmax, dense)
        if not np.all(np.isfinite(delta)):
            raise ConvergenceError("Newton: singular or non-finite linear solve", history,
                                   hint="check boundary conditions; refine the mesh")
        dpsi, dw = split(delta, S)
        step = update_norm(psi, dpsi, np.where(p.present, dw, 0.0))
        if step > opts.divergence_step:
            raise ConvergenceError(f"Newton diverging (update {step:.3g})", history, last_step=step,
                                   hint="ramp the parameter (continuation) or reduce the time step")
        alpha = damping(opts, psi, dpsi, dw)
        dpsi, dw = alpha * dpsi, alpha * dw
        psi = psi + dpsi
        w = w + np.where(p.present, dw, 0.0)
        c = from_w(p, w)
        stats.newton_iterations += 1
        if alpha == 1.0 and step < opts.tol:
            R_psi, R_c = op.residual(p, g, psi, c, c_old=c_old, dt=dt, steady_closed=steady_closed,
                                     boundary_flux_in=boundary_flux_in)
            stats.final_residual = float(np.max(np.abs(interleave(R_psi, R_c))))
            stats.residual_history += history + [stats.final_residual]
            return psi, c
    raise ConvergenceError(f"Newton did not converge in {opts.max_iter} iterations", history,
                           last_step=step, hint="ramp the parameter (continuation) or refine the mesh")


def solve_equilibrium(problem, opts=None, start=None, newton_fn=None):
    """Equilibrium (steady, zero-current) state of `problem`, by continuation in lam.

    start: optional (psi, c) at lam = 1 of a nearby problem (e.g. the previous point of a
    potential sweep); tried first, before continuation from the bulk state.
    newton_fn(problem, geometry, psi, c, opts, stats) -> (psi, c): the nonlinear solver of one
    continuation step (default: the native `newton`; the FiPy backend passes its own).
    Returns (psi, c, stats).
    """
    opts = opts or SolverOptions()
    newton_fn = newton_fn or newton
    stats = SolveStats()
    t0 = time.perf_counter()
    g = op.geometry(problem)
    if start is not None:
        try:
            psi, c = newton_fn(problem, g, start[0].copy(), start[1].copy(), opts, stats)
            stats.lambda_steps = 1
            stats.wall_time_s = time.perf_counter() - t0
            return psi, c, stats
        except ConvergenceError:
            pass
    psi, c = problem.initial_state()
    lam, dlam = 0.0, 1.0
    while lam < 1.0:
        target = min(1.0, lam + dlam)
        try:
            psi, c = newton_fn(problem.at(target), g, psi, c, opts, stats)
            lam = target
            stats.lambda_steps += 1
            dlam *= 2.0
        except ConvergenceError as e:
            stats.rejected_lambda_steps += 1
            if not opts.continuation:
                raise
            dlam /= 4.0
            if dlam < opts.min_dlam or stats.lambda_steps + stats.rejected_lambda_steps > opts.max_lambda_steps:
                raise ConvergenceError(f"continuation stalled at lambda = {lam:.4g}", e.residuals,
                                       last_step=dlam, hint="refine the mesh near the interfaces, "
                                       "or check that the mu0 steps and concentrations are physical") from None
    stats.wall_time_s = time.perf_counter() - t0
    return psi, c, stats


def relax_closed(problem, opts=None, newton_fn=None, max_steps=400):
    """Equilibrium of a closed problem by pseudo-transient continuation.

    Implicit Euler steps dx (c - c_old)/dt + div N = 0 conserve every inventory exactly; dt
    starts below the fastest relaxation time (min dx^2 / D) and grows 10x per accepted step.  The
    relaxation ends when a step with dt above the slowest diffusion time (L^2 / D) changes no
    unknown by more than opts.tol.  Returns (psi, c, stats).
    """
    opts = opts or SolverOptions()
    newton_fn = newton_fn or newton
    stats = SolveStats()
    t0 = time.perf_counter()
    g = op.geometry(problem)
    psi, c = problem.initial_state()
    D = np.where(problem.present, problem.D, np.nan)
    dt = 1e-3 * float(np.nanmin(g.dx[None, :] ** 2 / D))
    t_slow = float(np.nanmax(problem.mesh.faces[-1] ** 2 / D))
    for _ in range(max_steps):
        try:
            psi_new, c_new = newton_fn(problem, g, psi.copy(), c.copy(), opts, stats, c_old=c, dt=dt)
        except ConvergenceError as e:
            stats.rejected_lambda_steps += 1
            dt /= 4.0
            if dt < 1e-30:
                raise ConvergenceError("pseudo-transient relaxation failed", e.residuals, last_step=dt,
                                       hint="refine the mesh near the interfaces") from None
            continue
        change = max(float(np.max(np.abs(psi_new - psi))),
                     float(np.max(np.abs(to_w(problem, c_new) - to_w(problem, c)))))
        psi, c = psi_new, c_new
        stats.lambda_steps += 1
        if dt > t_slow and change < opts.tol:
            R_psi, R_c = op.residual(problem, g, psi, c)
            stats.final_residual = float(np.max(np.abs(interleave(R_psi, R_c))))
            stats.wall_time_s = time.perf_counter() - t0
            return psi, c, stats
        dt *= 10.0
    raise ConvergenceError(f"pseudo-transient relaxation did not reach equilibrium in {max_steps} steps",
                           [], last_step=dt, hint="raise the step limit or check the problem")
