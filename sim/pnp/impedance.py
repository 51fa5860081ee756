"""Small-signal impedance of a steady state, by linearizing the same discrete operator.

Around a steady state y0 = (psi, c) of the residual R(y, u) = 0 with input u (an applied current or
voltage), a perturbation u = u0 + du e^{i w t} gives, with the mass matrix M of the storage term
(M = dx row_c on concentration rows, 0 on Poisson rows: an index-1 DAE),

    (i w M + J) dy = -(dR/du) du,        J = dR/dy at y0 (operator.jacobian),

one banded complex solve per frequency, no time stepping (as VoronoiFVM linearizes its discrete
system).  Two drives:

  current (Li exchange, the transient boundary conditions of `galvanostatic_problem`): species s
      enters at x = 0 at dI / (z F); the field at x = 0 is zero, so dI is the whole current.  The
      voltage is the change of the electrochemical potential of s in the first cell against the
      reservoir at x = L:  dV = (kT/e) [dc / (c (1 - theta)) + z dpsi]  (cell 0).
  voltage (blocking or reversible electrodes, Dirichlet potentials at both ends): psi at x = 0
      moves by dV e / kT; the current through x = L is conduction plus displacement,
      dI = F sum_s z_s dN_s(L) + i w eps (dphi_N - dphi_L) / (dx_N / 2).

Z = dV / dI in ohm m^2.
"""
from __future__ import annotations

import numpy as np
import scipy.linalg as sla

from sim.units import FARADAY
from sim.pnp import laws
from sim.pnp import operator as op


def _banded(p, g, psi, c, w):
    """Steady Jacobian (psi, c variables) as LAPACK band storage, absent species pinned; and M."""
    m = 1 + p.n_species
    rows, cols, vals, dense = op.jacobian(p, g, psi, c, dt=None, steady_closed=False, w=w)
    absent = np.vstack([np.zeros((1, p.n), bool), ~p.present]).T.ravel()
    keep = ~absent[rows]
    rows, cols, vals = rows[keep], cols[keep], vals[keep]
    idx = np.flatnonzero(absent)
    rows, cols, vals = (np.concatenate([rows, idx]), np.concatenate([cols, idx]),
                        np.concatenate([vals, np.ones(idx.size)]))
    n = p.n * m
    mass = np.zeros((m, p.n))
    mass[1:] = np.where(p.present, g.dx[None, :] * g.row_c, 0.0)
    mass = mass.T.ravel()
    # row equilibration (as in the Newton solver): depleted cells have rows of size ~c
    scale = np.zeros(n)
    np.maximum.at(scale, rows, np.abs(vals))
    scale = np.maximum(scale, mass)
    scale[scale == 0] = 1.0
    bw = 2 * m - 1
    ab = np.zeros((2 * bw + 1, n))
    np.add.at(ab, (bw + rows - cols, cols), vals / scale[rows])
    return ab, mass / scale, bw, m, scale


def _solve(ab, mass, bw, omega, rhs):
    a = ab.astype(complex)
    a[bw] += 1j * omega * mass
    return sla.solve_banded((bw, bw), a, rhs.astype(complex), check_finite=False)


def current_drive(p, psi, c, frequencies_Hz, species, w=None):
    """Z(f) (ohm m^2) for Li exchange at x = 0 under the boundary conditions of
    `sim.kinds.pnp.build.galvanostatic_problem` (p must be such a problem, (psi, c) its steady state)."""
    g = op.geometry(p)
    ab, mass, bw, m, scale = _banded(p, g, psi, c, w)
    s = species
    z = p.z[s]
    rhs = np.zeros(p.n * m)
    rhs[1 + s] = g.row_c[s, 0] / (z * FARADAY)          # -dR/dI: flux dI / (z F) into cell 0
    rhs /= scale
    slope = laws.chemical_potential_slope(c[s, 0], op.occupancy(p, c, w)[1][s, 0])    # d(eta/kT)/dc
    Z = np.empty(len(frequencies_Hz), complex)
    for i, f in enumerate(frequencies_Hz):
        d = _solve(ab, mass, bw, 2 * np.pi * f, rhs)
        dpsi0, dc0 = d[0], d[1 + s]
        Z[i] = p.thermal_voltage * (dc0 * slope + z * dpsi0)
    return Z


def voltage_drive(p, psi, c, frequencies_Hz, w=None):
    """Z(f) (ohm m^2) with Dirichlet potentials at both ends (p.psi_bc finite), the potential at
    x = 0 perturbed; species with a Dirichlet concentration at an end exchange there (reversible),
    the others are blocked."""
    if not np.all(np.isfinite(p.psi_bc)):
        raise ValueError("voltage drive needs Dirichlet potentials at both ends")
    g = op.geometry(p)
    ab, mass, bw, m, scale = _banded(p, g, psi, c, w)
    V_T = p.thermal_voltage
    # -dR/dpsi_bc0 for dV = 1 V: Poisson row of cell 0 and the boundary flux at x = 0
    rhs = np.zeros(p.n * m)
    rhs[0] = -g.eps_b[0] * V_T / (g.dx[0] / 2) * g.row_psi[0] / V_T
    h = 1e-6
    Nb = [op.boundary_fluxes(_shift(p, d), g, psi, c, w=w)[0] for d in (h, -h)]
    dNb = (Nb[0] - Nb[1]) / (2 * h)
    rhs[1:m] = np.where(p.present[:, 0], dNb * g.row_c[:, 0] / V_T, 0.0)       # R_c[s, 0] has -Nb[0, s]
    rhs /= scale
    _, dNb_dc, dNb_dpsi = op.boundary_fluxes(p, g, psi, c, with_derivatives=True, w=w)
    Z = np.empty(len(frequencies_Hz), complex)
    k = p.n - 1
    for i, f in enumerate(frequencies_Hz):
        omega = 2 * np.pi * f
        d = _solve(ab, mass, bw, omega, rhs)
        dpsiN, dcN = d[k * m], d[k * m + 1:k * m + m]
        dN = dNb_dc[1] * dcN + dNb_dpsi[1] * dpsiN
        conduction = FARADAY * np.sum(np.where(p.present[:, k], p.z * dN, 0.0))
        displacement = 1j * omega * g.eps_b[1] * V_T * dpsiN / (g.dx[k] / 2)
        Z[i] = 1.0 / (conduction + displacement)
    return Z


def _shift(p, d):
    from dataclasses import replace
    bc = p.psi_bc.copy()
    bc[0] += d
    return replace(p, psi_bc=bc)


def frequencies(f_min, f_max, per_decade):
    """Log-spaced frequencies (Hz), per_decade points per decade, both ends included."""
    n = int(round(np.log10(f_max / f_min) * per_decade)) + 1
    return np.geomspace(f_min, f_max, max(n, 2))
