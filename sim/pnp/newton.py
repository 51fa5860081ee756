"""Native damped Newton solver with continuation, on the shared discrete operator.

Unknowns are psi and the logit of the site occupancy, w = ln(theta / (1 - theta)), so that
every iterate has 0 < c < c_max: c = c_max / (1 + e^-w), dc/dw = c (1 - theta).  The Jacobian
is the analytic one of `operator.jacobian` with its concentration columns scaled by dc/dw.  It
is block-tridiagonal; it is solved as a banded system (LAPACK gbsv through `sim.pnp.lapack`, O(N))
or, when a closed system adds dense inventory rows, by sparse LU.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from sim.errors import ConvergenceError
from sim.pnp import operator as op
from sim.pnp import laws, predictor
from sim.pnp.lapack import BandedWithRows, solve_banded


@dataclass
class SolverOptions:
    tol: float = 1e-10            # Newton update: logit(theta), and psi relative to max(1, psi range)
    floor_tol: float = 1e-7       # below this update, a step that no longer contracts is the round-off floor
    max_backtracks: int = 12      # halvings of a step that does not decrease the equilibrated residual
    predictor: bool = True        # open problems: start from the converged Poisson-Fermi-Dirac problem in psi
    max_iter: int = 60
    max_step: float = 8.0         # largest update per iteration (damping)
    divergence_step: float = 1e4  # an update this large means divergence: give up at once
    continuation: bool = True
    min_dlam: float = 1e-4
    max_lambda_steps: int = 400
    final_residual: bool = True   # evaluate the residual at the converged state (SolveStats.final_residual);
                                  # False skips that evaluation when nothing else needs it (NaN is reported)


@dataclass
class SolveStats:
    newton_iterations: int = 0
    lambda_steps: int = 0
    rejected_lambda_steps: int = 0
    residual_history: list = field(default_factory=list)
    final_residual: float = np.nan
    wall_time_s: float = 0.0
    w: np.ndarray = None          # logit(theta) of the last converged state (accurate 1 - theta)
    round_off_stops: int = 0      # Newton solves ended on the round-off floor (see `newton`)
    predictor_iterations: int = 0  # Newton iterations of the scalar problem in psi (`predictor`)


def to_w(p, c):
    """The logit w = ln(theta / (1 - theta)) of every species and cell (`laws.logit`; 0 where absent)."""
    cmax = np.where(p.present, p.c_max, 1.0)
    return laws.logit(np.clip(np.where(p.present, c / cmax, 0.5), 1e-300, 1 - 1e-16))


def from_w(p, w):
    """c = c_max theta(w) where present, 0 elsewhere (`laws.occupancy_from_logit`)."""
    cmax = np.where(p.present, p.c_max, 1.0)
    return np.where(p.present, cmax * laws.occupancy_from_logit(w)[0], 0.0)


def interleave(psi, cs):
    return np.vstack([psi[None, :], cs]).T.ravel()


def split(y, S):
    Y = y.reshape(-1, 1 + S).T
    return Y[0], Y[1:]


def solve_linear(rows, cols, vals, n_unknowns, m, rhs, dense_rows):
    """Solve J x = rhs for a block-tridiagonal J given as COO: banded, plus the dense inventory rows of a
    closed problem by Woodbury (`lapack.BandedWithRows`)."""
    bw = 2 * m - 1
    if dense_rows:
        return BandedWithRows.from_coo(rows, cols, vals, n_unknowns, bw, dense_rows).solve(rhs)
    return solve_banded(bw, bw, lapack_band(row_band(rows, cols, vals, n_unknowns, bw)), rhs, overwrite_ab=True)


def row_band(rows, cols, vals, n_unknowns, bw):
    """J as an (n, 2 bw + 1) array, R[i, bw + j - i] = J[i, j], duplicates summed (np.bincount:
    the same sums as COO assembly, much faster than np.add.at)."""
    width = 2 * bw + 1
    flat = rows * width + (cols - rows + bw)
    return np.bincount(flat, weights=vals, minlength=n_unknowns * width).reshape(n_unknowns, width)


def lapack_band(R):
    """The row band R (see row_band) in LAPACK's (2 bw + 1, n) layout ab[bw + i - j, j] = J[i, j]."""
    n, width = R.shape
    bw = width // 2
    ab = np.zeros((width, n))
    for d in range(-bw, bw + 1):                    # diagonal j - i = d
        i0, i1 = max(0, -d), n - max(0, d)
        ab[bw - d, i0 + d:i1 + d] = R[i0:i1, bw + d]
    return ab


def _w_columns(p, c, w, fluxes):
    """dc/dw = c (1 - theta) per unknown (1 for psi and absent species), and the mask of the
    unknowns of absent species, whose rows become identity rows."""
    one_minus = fluxes["local"].one_minus if fluxes and "local" in fluxes else op.occupancy(p, c, w)[1]
    dcdw = interleave(np.ones(p.n), np.where(p.present, c * one_minus, 1.0))
    return dcdw, interleave(np.zeros(p.n, bool), ~p.present)


def newton_step_matrix(p, g, psi, c, dt=None, steady_closed=None, w=None, fluxes=None):
    """Jacobian in (psi, w) variables with absent-species rows replaced by identity."""
    S = p.n_species
    m = 1 + S
    rows, cols, vals, dense = op.jacobian(p, g, psi, c, dt=dt, steady_closed=steady_closed, w=w, fluxes=fluxes)
    dcdw, absent = _w_columns(p, c, w, fluxes)
    vals = vals * dcdw[cols]
    keep, rows, cols, idx = _step_pattern(g, rows, cols, absent)
    vals = np.concatenate([vals[keep], np.ones(idx.size)])
    return rows, cols, vals, dense, m


def _step_pattern(g, rows, cols, absent):
    """(kept entries, rows, cols, identity rows) of the step matrix: its index arrays depend only on
    the Jacobian's pattern and the absent species, so they are kept with the geometry (`Geometry.shared`)
    when the Jacobian has its plain pattern."""
    kept = g.shared.get("newton_step")
    if kept is not None and kept[0] is rows and np.array_equal(kept[1], absent):
        return kept[2]
    keep = ~absent[rows]
    idx = np.flatnonzero(absent)
    out = (keep, np.concatenate([rows[keep], idx]), np.concatenate([cols[keep], idx]), idx)
    pattern = g.shared.get("jacobian")
    if pattern is not None and rows is pattern[0]:
        g.shared["newton_step"] = (rows, absent.copy(), out)
    return out


def newton_update(p, g, psi, c, r, dt=None, steady_closed=False, w=None, fluxes=None):
    """Newton update delta of J delta = -r in (psi, w) variables, with every row divided by its
    largest |entry| (depleted cells have NP rows of size ~c, far below the others; an inventory row is
    relative already and stays as it is).  Returns
    (delta, max |r_i / rowmax_i|, rowmax).  Open and transient problems are banded (LAPACK
    gbsv)."""
    m = 1 + p.n_species
    bw = 2 * m - 1
    rows, cols, vals, dense, m = newton_step_matrix(p, g, psi, c, dt=dt, steady_closed=steady_closed, w=w,
                                                    fluxes=fluxes)
    if dense:
        rowmax = np.zeros(r.size)
        np.maximum.at(rowmax, rows, np.abs(vals))
        # an inventory row is already relative to the inventory; divided by its largest entry (dx c (1 - theta)
        # of one cell) it would weigh the second-order inventory error of a step in logit(theta) so much
        # that the line search refuses Newton steps on fine meshes
        rowmax[dense] = 1.0
    else:
        R = row_band(rows, cols, vals, r.size, bw)
        rowmax = np.abs(R).max(axis=1)
    rowmax[rowmax == 0] = 1.0
    eq_res = float(np.abs(r / rowmax).max()) if r.size else 0.0
    with np.errstate(all="ignore"):
        if dense:
            delta = solve_linear(rows, cols, vals / rowmax[rows], r.size, m, -r / rowmax, dense)
        else:
            R /= rowmax[:, None]
            delta = solve_banded(bw, bw, lapack_band(R), -r / rowmax, overwrite_ab=True)
    return delta, eq_res, rowmax


def update_norm(psi, dpsi, dw):
    """Size of a Newton update: max |d logit(theta)| and max |d psi| relative to the psi range
    (at least 1 kT/e), so that rounding in very large potentials does not stall convergence."""
    scale = max(1.0, float(psi.max() - psi.min()))
    return max(float(np.abs(dpsi).max()) / scale, float(np.abs(dw).max()) if dw.size else 0.0)


def damping(opts, psi, dpsi, dw):
    """Step fraction: no logit(theta) change above max_step, and no psi change above
    max(max_step, psi range / 2), so that large overpotentials are reached in a few steps."""
    big_w = float(np.abs(dw).max()) if dw.size else 0.0
    big_psi = float(np.abs(dpsi).max())
    lim_psi = max(opts.max_step, 0.5 * float(psi.max() - psi.min()))
    alpha = 1.0
    if big_w > opts.max_step:
        alpha = opts.max_step / big_w
    if big_psi > lim_psi:
        alpha = min(alpha, lim_psi / big_psi)
    return alpha


def newton(p, g, psi, c, opts, stats, c_old=None, dt=None, boundary_flux_in=None, w=None):
    """Damped Newton on the residual at fixed parameters.  Returns (psi, c) or raises.

    w: logit(theta) of the starting state (default: from c; pass it to keep 1 - theta accurate
    in saturated cells, where c = c_max in floating point).  The converged w is left in stats.w.

    Globalisation: the step is first limited by `damping`, then halved until the equilibrated
    residual ||D^-1 R||_2 (D: row maxima of the Jacobian at the current iterate) decreases
    (Armijo, up to opts.max_backtracks halvings).  Poisson-Boltzmann-type problems with
    ultra-dilute carriers (screening lengths of millimetres) need it: there a full step
    overshoots the exponential charge response.

    Convergence: a full (undamped) step whose update norm is below opts.tol; or, once the update
    is below opts.floor_tol, a step that no longer contracts (update >= 1/4 of the previous one
    with an equilibrated residual that did not fall either): the iteration sits on its round-off
    floor, which in saturated or ultra-dilute states lies above tol.  Such stops are counted in
    stats.round_off_stops.
    """
    S = p.n_species
    w = to_w(p, c) if w is None else np.array(w, float)
    prev_step, prev_res = np.inf, np.inf
    steady_closed = p.closed and dt is None
    history = []

    def res(psi_, c_, w_, cache_):
        return interleave(*op.residual(p, g, psi_, c_, c_old=c_old, dt=dt, steady_closed=steady_closed,
                                       boundary_flux_in=boundary_flux_in, w=w_, cache=cache_))

    cache = {}
    r = res(psi, c, w, cache)
    for it in range(opts.max_iter):
        rnorm = float(np.abs(r).max()) if r.size else 0.0
        if not np.isfinite(rnorm):
            raise ConvergenceError("Newton: residual is NaN or inf", history,
                                   hint="ramp the parameter (continuation) or refine the mesh")
        history.append(rnorm)
        delta, eq_res, rowmax = newton_update(p, g, psi, c, r, dt=dt, steady_closed=steady_closed, w=w,
                                              fluxes=cache)
        if not np.isfinite(delta).all():
            raise ConvergenceError("Newton: singular or non-finite linear solve", history,
                                   hint="check boundary conditions; refine the mesh")
        dpsi, dw = split(delta, S)
        dw = np.where(p.present, dw, 0.0)
        step = update_norm(psi, dpsi, dw)
        if step > opts.divergence_step:
            raise ConvergenceError(f"Newton diverging (update {step:.3g})", history, last_step=step,
                                   hint="ramp the parameter (continuation) or reduce the time step")
        alpha = damping(opts, psi, dpsi, dw)
        merit0 = float(np.linalg.norm(r / rowmax))
        for _ in range(opts.max_backtracks + 1):
            psi_t, w_t = psi + alpha * dpsi, w + alpha * dw
            c_t = from_w(p, w_t)
            cache_t = {}
            if alpha == 1.0 and step < min(opts.tol, opts.floor_tol) and not opts.final_residual:
                r_t = None          # converged below the floor: no merit test reads it, and no report
                break
            with np.errstate(all="ignore"):
                r_t = res(psi_t, c_t, w_t, cache_t)
            merit = float(np.linalg.norm(r_t / rowmax))
            if merit <= (1.0 - 1e-4 * alpha) * merit0 or step < opts.floor_tol:
                break
            alpha *= 0.5
        psi, w, c, r, cache = psi_t, w_t, c_t, r_t, cache_t
        stats.newton_iterations += 1
        floor = (alpha == 1.0 and step < opts.floor_tol and step >= 0.25 * prev_step
                 and eq_res >= 0.25 * prev_res)
        if (alpha == 1.0 and step < opts.tol) or floor:
            stats.final_residual = float(np.max(np.abs(r))) if r is not None else np.nan
            stats.residual_history += history + [stats.final_residual]
            stats.w = w
            stats.round_off_stops += int(floor and step >= opts.tol)
            return psi, c
        prev_step, prev_res = step, eq_res
    raise ConvergenceError(f"Newton did not converge in {opts.max_iter} iterations", history,
                           last_step=step, hint="ramp the parameter (continuation) or refine the mesh")


def solve_equilibrium(problem, opts=None, start=None, newton_fn=None, seed=None):
    """Equilibrium (steady, zero-current) state of `problem`, by continuation in lam.

    start: optional (psi, c) or (psi, c, w) at lam = 1 of a nearby problem (e.g. the previous
    point of a potential sweep); tried first, before the predictor and continuation.
    seed: optional psi (N) of a nearby problem to start the predictor from instead of its
    default start.  For a small change of the problem (a 5 mV step of the cathode potential)
    this is cheaper than `start`: 5 tridiagonal iterations and 1 coupled instead of 4 coupled.
    newton_fn(problem, geometry, psi, c, opts, stats) -> (psi, c): the nonlinear solver of one
    continuation step (default: the native `newton`; the FiPy backend passes its own).
    Returns (psi, c, stats).
    """
    opts = opts or SolverOptions()
    newton_fn = newton_fn or newton
    stats = SolveStats()
    t0 = time.perf_counter()
    g = op.geometry(problem)
    if start is None and problem.kinetics:
        # zero net Butler-Volmer flux <=> equal electrochemical potentials across the face: the
        # equilibrium is that of the ideal interface, a far better start than continuation from lam = 0
        ideal = solve_equilibrium(replace(problem, kinetics=None), opts, newton_fn=newton_fn, seed=seed)
        start = (ideal[0], ideal[1], ideal[2].w)
        stats.predictor_iterations = ideal[2].predictor_iterations
        stats.newton_iterations = ideal[2].newton_iterations          # the cost of both solves
    if start is not None:
        try:
            w0 = start[2] if len(start) > 2 else None
            psi, c = newton_fn(problem, g, start[0].copy(), start[1].copy(), opts, stats, w=w0)
            stats.lambda_steps = 1
            stats.wall_time_s = time.perf_counter() - t0
            return psi, c, stats
        except ConvergenceError:
            pass
    if opts.predictor and not problem.closed:
        guess = predictor.solve_psi(problem, g, psi=seed)
        if guess is not None:
            stats.predictor_iterations = guess[3]
            try:
                psi, c = newton_fn(problem, g, guess[0], guess[1], opts, stats, w=guess[2])
                stats.lambda_steps = 1
                stats.wall_time_s = time.perf_counter() - t0
                return psi, c, stats
            except ConvergenceError:
                pass
    psi, c = problem.initial_state()
    w = None
    lam, dlam = 0.0, 1.0
    while lam < 1.0:
        target = min(1.0, lam + dlam)
        try:
            psi, c = newton_fn(problem.at(target), g, psi, c, opts, stats, w=w)
            w = stats.w
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


def solve_steady(problem, boundary_flux_in, opts=None, start=None, ramp=(0.25, 0.5, 0.75, 1.0)):
    """Steady state of `problem` with the prescribed fluxes `boundary_flux_in` (2, S) into the domain (a DC
    current): Newton on the steady equations (no time stepping), the fluxes ramped in `ramp` fractions from
    the equilibrium (`start`: (psi, c, w) of it, else solved here).  Returns (psi, c, stats)."""
    opts = opts or SolverOptions()
    t0 = time.perf_counter()
    if start is None:
        psi, c, stats = solve_equilibrium(problem, opts)
        w = stats.w
    else:
        psi, c, w = start
        stats = SolveStats()
    g = op.geometry(problem)
    flux = np.asarray(boundary_flux_in, float)
    for frac in ramp:
        psi, c = newton(problem, g, psi, c, opts, stats, boundary_flux_in=frac * flux, w=w)
        w = stats.w
        stats.lambda_steps += 1
    stats.wall_time_s = time.perf_counter() - t0
    return psi, c, stats
