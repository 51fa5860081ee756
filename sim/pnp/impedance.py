"""Small-signal impedance of a steady state, by linearizing the same discrete operator.

Around a steady state y0 = (psi, c) of the residual R(y, u) = 0 with input u (an applied current or
voltage), a perturbation u = u0 + du e^{i w t} gives, with the mass matrix M of the storage term
(M = dx row_c on concentration rows, 0 on Poisson rows: an index-1 DAE),

    (i w M + J) dy = -(dR/du) du,        J = dR/dy at y0 (operator.jacobian),

one sparse complex solve per frequency, no time stepping (as VoronoiFVM linearizes its discrete
system).  Sign convention: Z = dV / dI with time dependence e^{i w t}, so a capacitor has Z'' < 0.

Two things keep every frequency accurate down to the static limit:

* Conserved quantities.  A species region that touches no reservoir keeps its inventory (with the
  reactions that link species, a combination of them: for the Frenkel pair, Li_i* minus V_Li'); then J
  is singular and i w M + J nearly so at low w.  For w > 0 the perturbation conserves the same
  quantities exactly (e^T (i w M + J) dy = i w e^T M dy = e^T rhs = 0), so the last balance row of each
  such region is replaced by that conservation, sum_k dx_k sum_s a_s dc_sk = 0: the system is then
  regular at every w, w = 0 included.
* The deviation from a reference response.  dy = y_ref + d with (i w M + J) d = rhs - (i w M + J) y_ref,
  so d is computed to the precision of its own size, and the parts of Z that vanish relative to |Z| keep
  their digits.  Low frequencies take the quasi-static response, J y0 = rhs (the residual is -i w M y0,
  O(w)); high frequencies the first two terms of the expansion in 1/(i w) of the index-1 DAE,
  y_inf = a0 + a1 / (i w): with D the unknowns whose rows carry mass and A the others (potentials and
  conservation rows), a0 = 0 on D and J_AA a0 = rhs_A; a1 = (rhs - J a0) / M on D and J_AA a1 = -J_AD a1
  on A (the residual is -J a1 / (i w) on D, O(1/w)).  Each frequency takes the reference with the
  smaller residual.  Without this Re Z of a blocking cell (~ w^2 of |Z| at low and ~ 1/w at high
  frequencies) is lost to rounding.

Two drives:

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
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from sim.units import FARADAY
from sim.pnp import laws
from sim.pnp import operator as op
from sim.pnp.lapack import BandedWithRows


class LinearResponse:
    """The linearized system of a steady state: J (with conservation rows), the mass M and the row
    scaling (the pieces `_solve` and `_high_frequency_terms` factorize)."""

    def __init__(self, p, psi, c, w=None):
        self.p = p
        g = self.g = op.geometry(p)
        m = self.m = 1 + p.n_species
        n = p.n * m
        rows, cols, vals, _ = op.jacobian(p, g, psi, c, dt=None, steady_closed=False, w=w)
        absent = np.vstack([np.zeros((1, p.n), bool), ~p.present]).T.ravel()
        mass = np.zeros((m, p.n))
        mass[1:] = np.where(p.present, g.dx[None, :] * g.row_c, 0.0)
        mass = mass.T.ravel()
        conserved = op.conserved_quantities(p, g)
        replace = [m * k + 1 + s for s, k, *_ in conserved]
        drop = absent[rows] | np.isin(rows, replace)
        rows, cols, vals = rows[~drop], cols[~drop], vals[~drop]
        extra_r, extra_c, extra_v = [np.flatnonzero(absent)], [np.flatnonzero(absent)], [np.ones(int(absent.sum()))]
        for (s, k, a, cells, _, scale), r in zip(conserved, replace):
            for u in np.flatnonzero(a):
                extra_r.append(np.full(cells.size, r))
                extra_c.append(m * cells + 1 + u)
                extra_v.append(a[u] * g.dx[cells] / scale)
            mass[r] = 0.0
        rows = np.concatenate([rows] + extra_r)
        cols = np.concatenate([cols] + extra_c)
        vals = np.concatenate([vals] + extra_v)
        # row equilibration (as in the Newton solver): depleted cells have rows of size ~c
        scale = np.zeros(n)
        np.maximum.at(scale, rows, np.abs(vals))
        scale = np.maximum(scale, mass)
        scale[scale == 0] = 1.0
        self.replaced = np.array(replace, int)
        self.scale = scale
        vals = vals / scale[rows]
        self.J = sp.csc_matrix((vals, (rows, cols)), shape=(n, n))
        self.mass = mass / scale
        self.M = sp.diags(self.mass).tocsc()
        # banded with the dense conservation rows (`lapack.BandedWithRows`: Woodbury on banded LUs)
        self.system = BandedWithRows.from_coo(rows, cols, vals, n, 2 * m - 1, self.replaced)
        self.D = self.mass > 0
        A = ~self.D
        self._J_AA = spla.splu(self.J[A][:, A].tocsc())
        self._J_AD = self.J[A][:, self.D].tocsc()

    def _solve(self, omega, b):
        """x with (J + i w M) x = b (b: a vector or columns)."""
        return self.system.solve(b, None if omega == 0.0 else 1j * omega * self.mass)

    def _high_frequency_terms(self, b):
        """(a0, a1) of y_inf = a0 + a1 / (i w) (module docstring)."""
        A, D = ~self.D, self.D
        a0 = np.zeros_like(b)
        a0[A] = self._J_AA.solve(b[A])
        a1 = np.zeros_like(b)
        a1[D] = (b - self.J @ a0)[D] / self.mass[D]
        a1[A] = self._J_AA.solve(-(self._J_AD @ a1[D]))
        return a0, a1

    def solve(self, rhs, frequencies_Hz):
        """[dy(w)] for the (unscaled) right-hand side rhs at each frequency: y_ref + d (module docstring)."""
        b = rhs / self.scale
        b[self.replaced] = 0.0                 # the conservation rows: no change of a conserved quantity
        y0 = self._solve(0.0, b)
        My0 = self.M @ y0
        a0, a1 = self._high_frequency_terms(b)
        Ja1 = self.J @ a1
        out = []
        for f in frequencies_Hz:
            omega = 2 * np.pi * f
            if omega == 0.0:
                out.append(y0.astype(complex))
                continue
            if omega * np.linalg.norm(My0) <= np.linalg.norm(Ja1) / omega:
                ref, r = y0, -1j * omega * My0
            else:
                ref, r = a0 + a1 / (1j * omega), -Ja1 / (1j * omega)
            out.append(ref + self._solve(omega, r))
        return out


def current_drive(p, psi, c, frequencies_Hz, species, w=None):
    """Z(f) (ohm m^2) for Li exchange at x = 0 under the boundary conditions of
    `sim.kinds.pnp.build.galvanostatic_problem` (p must be such a problem, (psi, c) its steady state)."""
    lin = LinearResponse(p, psi, c, w)
    m, s, z = lin.m, species, p.z[species]
    rhs = np.zeros(p.n * m)
    rhs[1 + s] = lin.g.row_c[s, 0] / (z * FARADAY)          # -dR/dI: flux dI / (z F) into cell 0
    slope = laws.chemical_potential_slope(c[s, 0], op.occupancy(p, c, w)[1][s, 0])    # d(eta/kT)/dc
    return np.array([p.thermal_voltage * (d[1 + s] * slope + z * d[0]) for d in lin.solve(rhs, frequencies_Hz)])


def voltage_drive(p, psi, c, frequencies_Hz, w=None):
    """Z(f) (ohm m^2) with Dirichlet potentials at both ends (p.psi_bc finite), the potential at
    x = 0 perturbed; species with a Dirichlet concentration at an end exchange there (reversible),
    the others are blocked."""
    if not np.all(np.isfinite(p.psi_bc)):
        raise ValueError("voltage drive needs Dirichlet potentials at both ends")
    lin = LinearResponse(p, psi, c, w)
    g, m = lin.g, lin.m
    V_T = p.thermal_voltage
    # -dR/dpsi_bc0 for dV = 1 V: Poisson row of cell 0 and the boundary flux at x = 0
    rhs = np.zeros(p.n * m)
    rhs[0] = -g.eps_b[0] * V_T / (g.dx[0] / 2) * g.row_psi[0] / V_T
    h = 1e-6
    Nb = [op.boundary_fluxes(_shift(p, d), g, psi, c, w=w)[0] for d in (h, -h)]
    dNb = (Nb[0] - Nb[1]) / (2 * h)
    rhs[1:m] = np.where(p.present[:, 0], dNb * g.row_c[:, 0] / V_T, 0.0)       # R_c[s, 0] has -Nb[0, s]
    _, dNb_dc, dNb_dpsi = op.boundary_fluxes(p, g, psi, c, with_derivatives=True, w=w)
    k = p.n - 1
    Z = np.empty(len(frequencies_Hz), complex)
    for i, (f, d) in enumerate(zip(frequencies_Hz, lin.solve(rhs, frequencies_Hz))):
        omega = 2 * np.pi * f
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
