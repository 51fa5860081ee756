"""Equilibrium predictor: the discrete Poisson-Fermi-Dirac problem in psi alone.

In equilibrium every electrochemical potential is uniform over the cells its species can
reach, and the SEDAN flux of `operator` vanishes exactly there.  Where each such region is
connected to a reservoir (a Dirichlet concentration at an outer face, as in open problems),
eta_s is known, the occupation follows from psi,

    w_s(psi) = eta_s / kT - m_s - z_s psi,      c_s = c_max,s / (1 + e^-w_s),

and the cell-integrated Poisson equation of `operator.residual` becomes a scalar problem in psi.
It is the stationarity condition of the strictly convex energy

    E(psi) = 1/2 sum_f a_f (psi_L - psi_K)^2 + 1/2 sum_b a_b (psi_k - psi_b)^2
             + F sum_k dx_k [ sum_s c_max,s softplus(w_s(psi_k)) + c_bg,k psi_k ]

(a = eps V_T / h), so Newton with an Armijo line search on E converges from any start.  Its
solution is the exact discrete equilibrium; the coupled Newton only confirms it.  This is what
lets contact potentials of several volts, saturated layers and screening lengths of
millimetres converge without continuation.
"""
from __future__ import annotations

import math

import numpy as np

from sim.pnp import laws
from sim.pnp.lapack import solve_banded
from sim.units import FARADAY


def reservoir_levels(p, comps=None):
    """eta_s / kT (S, N) from the reservoirs, or None when a region of a species has none.
    comps: `p.components(s)` for every s, if already known (`Geometry.comps`)."""
    eta = np.full((p.n_species, p.n), np.nan)
    for s in range(p.n_species):
        for idx in (p.components(s) if comps is None else comps[s]):
            for b, k in ((0, 0), (1, p.n - 1)):
                cb = p.c_bc[b, s]
                if k in (idx[0], idx[-1]) and np.isfinite(cb) and np.isfinite(p.psi_bc[b]):
                    th = cb / p.c_max[s, k]
                    eta[s, idx] = p.mu0[s, k] + laws.logit(th) + p.z[s] * p.psi_bc[b]
                    break
            else:
                return None
    return eta


class _Terms:
    """The NumPy predictor's per-cell terms, with what does not change during a solve computed
    once (the same floating-point operations as inline, so the results are unchanged)."""

    def __init__(self, p, g, eta, a, ab):
        self.p, self.a, self.ab = p, a, ab
        self.base = eta - p.mu0                    # w = eta/kT - m - z psi  (present species)
        self.zcol = p.z[:, None]
        cmax = np.where(p.present, p.c_max, 0.0)
        self.cmax = cmax
        self.zc = p.z[:, None] * cmax
        self.z2c = p.z[:, None] ** 2 * cmax
        self.Fdx = FARADAY * g.dx
        self.dx = g.dx

    def state(self, psi):
        """w (S, N) and softplus(w) = ln(1 + e^w) at psi (w = -inf, softplus = 0 where a species
        is absent): all the energy needs, and the start of `terms`."""
        w = np.where(self.p.present, laws.reservoir_logit(self.base, 0.0, self.zcol, psi[None, :]), -np.inf)
        return w, laws.softplus(w)

    def terms(self, state):
        """rho (N) and d rho / d psi (N) at a `state`."""
        w, soft = state
        theta, om, _ = laws.occupancy_from_logit(w)
        rho = (self.zc * theta).sum(axis=0) - self.p.c_bg      # methods: no np.sum wrapper per call
        drho = -(self.z2c * theta * om).sum(axis=0)
        return rho, drho

    def energy(self, psi):
        """E(psi) (see the module docstring) and the `state` it was computed from."""
        p, ab = self.p, self.ab
        w, soft = self.state(psi)
        e = 0.5 * (self.a * (psi[1:] - psi[:-1]) ** 2).sum()
        for b, k in ((0, 0), (1, -1)):
            if np.isfinite(p.psi_bc[b]):
                e += 0.5 * ab[b] * (psi[k] - p.psi_bc[b]) ** 2
        return e + FARADAY * (self.dx * ((self.cmax * soft).sum(axis=0) + p.c_bg * psi)).sum(), (w, soft)


def poisson_coefficients(g, V_T):
    """(a, ab): the Poisson couplings a_f = eps_f V_T / h_f of the interior faces and a_b = eps_b V_T /
    (dx / 2) of the two outer half cells, computed once per geometry and temperature (`Geometry.shared`)."""
    key = ("poisson_coefficients", V_T)
    out = g.shared.get(key)
    if out is None:
        out = g.shared[key] = (g.eps_f * V_T / g.h,
                               np.array([g.eps_b[0] * V_T / (g.dx[0] / 2), g.eps_b[1] * V_T / (g.dx[-1] / 2)]))
    return out


def solve_psi(p, g, psi=None, tol=1e-12, max_iter=400):
    """Equilibrium (psi, c, w, Newton iterations) of an open problem from the convex problem in
    psi, or None when the problem does not qualify (a species region without reservoir, or no
    Dirichlet psi)."""
    if not (math.isfinite(p.psi_bc[0]) or math.isfinite(p.psi_bc[1])):
        return None
    eta = reservoir_levels(p, g.comps)
    if eta is None:
        return None
    a, ab = poisson_coefficients(g, p.thermal_voltage)
    psi = np.zeros(p.n) if psi is None else psi.copy()
    with np.errstate(all="ignore"):
        return _newton(p, g, psi, eta, a, ab, tol, max_iter)


def _newton(p, g, psi, eta, a, ab, tol, max_iter):
    """Newton with an Armijo line search on the convex energy E (module docstring): the
    tridiagonal Hessian d2E/dpsi2 = Poisson's stencil - F dx d rho/d psi, solved by gtsv."""
    T = _Terms(p, g, eta, a, ab)
    E, state = T.energy(psi)
    band = np.zeros((3, p.n))
    band[0, 1:] = -a
    band[2, :-1] = -a
    for it in range(max_iter):
        rho, drho = T.terms(state)
        grad = np.zeros(p.n)                       # dE/dpsi = -(Poisson residual)
        flux = a * (psi[:-1] - psi[1:])
        grad[:-1] += flux
        grad[1:] -= flux
        diag = -T.Fdx * drho                        # (-(F dx)) drho = ((-F) dx) drho exactly
        diag[:-1] += a
        diag[1:] += a
        for b, k in ((0, 0), (1, p.n - 1)):
            if np.isfinite(p.psi_bc[b]):
                grad[k] += ab[b] * (psi[k] - p.psi_bc[b])
                diag[k] += ab[b]
        grad -= T.Fdx * rho
        band[1] = diag
        try:
            d = -solve_banded(1, 1, band, grad)
        except (ValueError, np.linalg.LinAlgError):
            return None
        d = d.clip(-50.0, 50.0)
        slope = float(grad @ d)
        t = 1.0
        for _ in range(60):
            E_t, state_t = T.energy(psi + t * d)
            if E_t <= E + 1e-4 * t * slope or abs(E_t - E) <= 1e-15 * abs(E) or not np.isfinite(E):
                break
            t *= 0.5
        if not np.isfinite(E_t):
            return None
        psi = psi + t * d
        E, state = E_t, state_t
        if t == 1.0 and np.abs(d).max() < tol * max(1.0, float(psi.max() - psi.min())):
            break
    else:
        return None
    w = state[0]
    cmax = np.where(p.present, p.c_max, 1.0)
    c = np.where(p.present, cmax * laws.occupancy_from_logit(w)[0], 0.0)
    return psi, c, np.where(p.present, w, 0.0), it + 1
