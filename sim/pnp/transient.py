"""Implicit time integration of the PNP operator: BDF1 / BDF2 with adaptive steps, and protocols.

Each step solves the nonlinear system

    dx (c - c_hat) / dt_eff + div N(psi, c) = 0,      Poisson(psi, c) = 0

with the same Newton solver as the equilibrium (native or FiPy).  BDF1: c_hat = c_n,
dt_eff = dt.  Variable-step BDF2 with w = dt_n / dt_{n-1}:

    c_hat = [(1 + w)^2 c_n - w^2 c_{n-1}] / (1 + 2 w),   dt_eff = dt (1 + w) / (1 + 2 w).

Both conserve the inventory exactly for constant boundary fluxes.  The local error is
estimated by the Milne device against a polynomial predictor through the previous states,
LTE ~ C (y - y_pred) with C = 1/3 (BDF1, linear predictor) and 2/11 (BDF2, quadratic
predictor), measured in the norm max(|e_psi| / (rtol |psi| + atol_psi),
|e_c| / (rtol |c| + atol_c c_scale)).  A step is accepted when that norm is <= 1; the next step
is dt * clip(0.9 err^(-1/(q+1)), 0.2, 4).  Steps are clipped to land on the output times.

Protocols (pluggable: any object with `boundary(p, t)` and `charge(t)`):
  Galvanostatic / CurrentTable  Li+ enters at x = 0 at J(t)/F (J > 0: charge)
  Potentiostatic                Li+ exchanges at x = 0 with a cathode reservoir held at
                                eta_eq + e dV (an overpotential step)
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from sim.errors import ConvergenceError
from sim.units import FARADAY
from sim.pnp import operator as op
from sim.pnp.newton import SolverOptions, from_w, newton, to_w


@dataclass
class TimeOptions:
    method: str = "bdf2"          # "bdf1" or "bdf2"
    rtol: float = 1e-3
    atol_psi: float = 1e-3        # kT/e
    atol_c: float = 1e-6          # fraction of the species' site density
    dt_initial: float = 1e-9      # s
    dt_min: float = 1e-18         # s (also never below 1e-12 t)
    dt_max: float = np.inf        # s
    max_steps: int = 200000
    adaptive: bool = True         # False: fixed steps of dt_initial (for convergence studies)
    newton: SolverOptions = field(default_factory=lambda: SolverOptions(tol=1e-9, max_iter=25))


@dataclass
class TimeStats:
    accepted_steps: int = 0
    rejected_steps: int = 0
    newton_iterations: int = 0
    wall_time_s: float = 0.0
    smallest_step_s: float = np.inf
    largest_step_s: float = 0.0
    stopped_at: float = np.nan        # s, when a stop condition ended the run


class Galvanostatic:
    """Constant current density J (A/m^2, > 0 charges the cathode) from t = 0."""
    name = "galvanostatic"

    def __init__(self, current_density_A_m2, species=0):
        self.J = float(current_density_A_m2)
        self.species = species

    def current(self, t):
        return self.J

    def charge(self, t):
        """Charge passed (C/m^2) by time t."""
        return self.J * t

    def boundary(self, p, t):
        flux = np.zeros((2, p.n_species))
        flux[0, self.species] = self.current(t) / (abs(p.z[self.species]) * FARADAY)
        return p, flux


class CurrentTable(Galvanostatic):
    """Current density interpolated linearly in a table of (time s, J A/m^2); held after the end."""
    name = "current_table"

    def __init__(self, times_s, current_A_m2, species=0):
        self.t = np.asarray(times_s, float)
        self.j = np.asarray(current_A_m2, float)
        self.species = species
        self._q = np.concatenate([[0.0], np.cumsum(np.diff(self.t) * 0.5 * (self.j[1:] + self.j[:-1]))])

    def current(self, t):
        return float(np.interp(t, self.t, self.j))

    def charge(self, t):
        if t <= self.t[0]:
            return self.j[0] * (t - self.t[0]) if t > 0 else 0.0
        i = min(np.searchsorted(self.t, t) - 1, len(self.t) - 2)
        if t >= self.t[-1]:
            return self._q[-1] + self.j[-1] * (t - self.t[-1])
        return self._q[i] + (t - self.t[i]) * 0.5 * (self.j[i] + self.current(t))


class Potentiostatic:
    """Overpotential step: the cathode reservoir at x = 0 holds eta_Li = eta_eq + e dV."""
    name = "potentiostatic"

    def __init__(self, overpotential_V, eta_eq_kT, species=0):
        self.dV = float(overpotential_V)
        self.eta_eq = float(eta_eq_kT)
        self.species = species

    def current(self, t):
        return None

    def charge(self, t):
        return None

    def boundary(self, p, t):
        eta = np.full((2, p.n_species), np.nan)
        eta[0, self.species] = self.eta_eq + self.dV / p.thermal_voltage
        return replace(p, eta_bc=eta), None


@dataclass
class CathodeSOC:
    """Cathode state of charge: x_Li = x0 - Q / Q_cap moves U along the OCV table, which shifts
    mu0 of Li+ in the cathode cells by -(U(x) - U(x0)) e / kT."""
    cells: np.ndarray            # bool mask of the cathode cells
    species: int
    x0: float
    capacity_C_m2: float
    ocv_x: np.ndarray
    ocv_V: np.ndarray

    def potential(self, charge_C_m2):
        x = self.x0 - charge_C_m2 / self.capacity_C_m2
        return float(np.interp(x, self.ocv_x, self.ocv_V)), x

    signs: np.ndarray = None      # (S,) how the Li+ level enters each mu0 (default: +1 on `species`)
    level_shift: object = None    # (U, x) -> Li+ level (eV); default -U (all of -e dU on Li+)

    def apply(self, p, base_mu0, charge_C_m2):
        """mu0 of the cathode cells moved by the change of the Li+ level since t = 0."""
        shift = self.level_shift or (lambda U, x: -U)
        U0, x0 = self.potential(0.0)
        U, x = self.potential(charge_C_m2)
        signs = self.signs if self.signs is not None else np.eye(p.n_species)[self.species]
        mu0 = base_mu0.copy()
        mu0[:, self.cells] += np.asarray(signs)[:, None] * (shift(U, x) - shift(U0, x0)) / p.thermal_voltage
        return replace(p, mu0=mu0)


def _weights(p, psi, c, opts):
    wpsi = opts.rtol * np.abs(psi) + opts.atol_psi
    wc = opts.rtol * np.abs(c) + opts.atol_c * p.c_scale[:, None]
    return wpsi, wc


def _extrapolate(ts, ys, t):
    """Lagrange extrapolation of the states ys (list of arrays) at times ts to t."""
    out = 0.0
    for i, (ti, yi) in enumerate(zip(ts, ys)):
        w = 1.0
        for j, tj in enumerate(ts):
            if j != i:
                w *= (t - tj) / (ti - tj)
        out = out + w * yi
    return out


def integrate(problem, psi0, c0, protocol, t_end, output_times=(), opts=None, soc=None,
              newton_fn=None, record=None, stop=None):
    """Integrate from (psi0, c0) at t = 0 to t_end under `protocol`.

    record(t, problem_t, psi, c) is called at t = 0, at every output time and at t_end.
    stop(t, problem_t, psi, c) -> bool ends the run after an accepted step (e.g. a voltage
    cutoff); the final state is recorded and TimeStats.stopped_at is set.
    Returns (psi, c, TimeStats).  Raises ConvergenceError when the step falls below dt_min.
    """
    opts = opts or TimeOptions()
    newton_fn = newton_fn or newton
    stats = TimeStats()
    t0 = time.perf_counter()
    g = op.geometry(problem)
    base_mu0 = problem.mu0.copy()
    outs = [float(t) for t in sorted(output_times) if 0.0 < t < t_end * (1 - 1e-9)]
    outs = [t for i, t in enumerate(outs) if i == 0 or t > outs[i - 1] * (1 + 1e-9)] + [float(t_end)]
    hist_t, hist_psi, hist_c = [0.0], [psi0.copy()], [c0.copy()]
    psi, c = psi0.copy(), c0.copy()
    if record:
        record(0.0, problem, psi, c)
    t, dt = 0.0, opts.dt_initial
    charge_lagged = 0.0
    k_out = 0
    while True:
        if stats.accepted_steps + stats.rejected_steps >= opts.max_steps:
            raise ConvergenceError(f"time stepping stopped after {opts.max_steps} steps at t = {t:.4g} s",
                                   last_step=dt, hint="raise max_steps or loosen rtol")
        to_output = outs[k_out] - t
        hit = dt >= to_output * (1 - 1e-9) and opts.dt_max >= to_output
        dt = min(dt, opts.dt_max, to_output)
        t_new = outs[k_out] if hit else t + dt
        q = protocol.charge(t_new)
        p_t = problem if soc is None else soc.apply(problem, base_mu0, charge_lagged if q is None else q)
        p_t, flux = protocol.boundary(p_t, t_new)
        n_hist = len(hist_t)
        use_bdf2 = opts.method == "bdf2" and n_hist >= 2
        if use_bdf2:
            w = dt / (hist_t[-1] - hist_t[-2])
            c_hat = ((1 + w) ** 2 * hist_c[-1] - w * w * hist_c[-2]) / (1 + 2 * w)
            dt_eff = dt * (1 + w) / (1 + 2 * w)
        else:
            c_hat, dt_eff = hist_c[-1], dt
        order = 2 if use_bdf2 else 1
        n_pred = order + 1 if n_hist >= order + 1 else 0
        psi_guess, c_guess = psi, c
        if n_hist >= 2:   # predictor guess: extrapolate psi and logit(theta) linearly
            ts = hist_t[-2:]
            psi_guess = _extrapolate(ts, hist_psi[-2:], t_new)
            w_guess = _extrapolate(ts, [to_w(p_t, x) for x in hist_c[-2:]], t_new)
            c_guess = from_w(p_t, w_guess)
        try:
            psi_new, c_new = newton_fn(p_t, g, psi_guess.copy(), c_guess.copy(), opts.newton, stats_proxy(stats),
                                       c_old=c_hat, dt=dt_eff, boundary_flux_in=flux)
        except ConvergenceError:
            stats.rejected_steps += 1
            dt /= 4.0
            if dt < max(opts.dt_min, 1e-12 * t):
                raise ConvergenceError(f"time step fell below {opts.dt_min:g} s at t = {t:.4g} s",
                                       last_step=dt, hint="reduce the time step or refine the mesh") from None
            continue
        err = 0.0
        if opts.adaptive and n_pred:
            ts = hist_t[-n_pred:]
            e_psi = _extrapolate(ts, hist_psi[-n_pred:], t_new) - psi_new
            e_c = _extrapolate(ts, hist_c[-n_pred:], t_new) - c_new
            C = 1.0 / 3.0 if order == 1 else 2.0 / 11.0
            wpsi, wc = _weights(p_t, psi_new, c_new, opts)
            err = C * max(float(np.max(np.abs(e_psi) / wpsi)),
                          float(np.max(np.where(p_t.present, np.abs(e_c) / wc, 0.0))))
            if err > 1.0:
                stats.rejected_steps += 1
                dt *= max(0.2, 0.9 * err ** (-1.0 / (order + 1)))
                if dt < max(opts.dt_min, 1e-12 * t):
                    raise ConvergenceError(f"time step fell below {opts.dt_min:g} s at t = {t:.4g} s",
                                           last_step=dt, hint="loosen rtol or refine the mesh")
                continue
        # accept
        if q is None:   # potentiostatic: charge from the measured ionic flux into the domain
            R = op.boundary_fluxes(p_t, g, psi_new, c_new)
            charge_lagged += dt * FARADAY * float(np.sum(p_t.z * R[0]))
        stats.accepted_steps += 1
        stats.smallest_step_s = min(stats.smallest_step_s, dt)
        stats.largest_step_s = max(stats.largest_step_s, dt)
        t = t_new
        psi, c = psi_new, c_new
        hist_t, hist_psi, hist_c = (hist_t + [t])[-3:], (hist_psi + [psi])[-3:], (hist_c + [c])[-3:]
        if stop is not None and stop(t, p_t, psi, c):
            stats.stopped_at = t
            if record:
                record(t, p_t, psi, c)
            break
        if hit:
            if record:
                record(t, p_t, psi, c)
            if k_out == len(outs) - 1:
                break
            k_out += 1
        if opts.adaptive:
            grow = 4.0 if err == 0.0 else min(4.0, max(0.2, 0.9 * err ** (-1.0 / (order + 1))))
            dt *= grow
    stats.wall_time_s = time.perf_counter() - t0
    return psi, c, stats


class stats_proxy:
    """Adapter so the equilibrium Newton solvers count their iterations into TimeStats."""

    def __init__(self, tstats):
        self._t = tstats
        self.final_residual = np.nan
        self.w = None
        self.round_off_stops = 0

    @property
    def residual_history(self):      # not kept across thousands of steps
        return []

    @residual_history.setter
    def residual_history(self, value):
        pass

    @property
    def newton_iterations(self):
        return self._t.newton_iterations

    @newton_iterations.setter
    def newton_iterations(self, v):
        self._t.newton_iterations = v
