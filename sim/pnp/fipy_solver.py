"""FiPy backend: the same discrete equations, assembled and solved with FiPy terms.

Each Newton iteration solves J d = -R with FiPy.  The nonlinear residual R comes from the shared
operator (`sim.pnp.operator`), and the Jacobian is expressed in FiPy terms from the operator's
face derivatives.  On an interior face the linearised SG flux

    dN = a_K dc_K + a_L dc_L + g (dpsi_L - dpsi_K)

splits into a central-difference convection with face velocity u = a_K + a_L, a diffusion of dc
with face coefficient -(a_K - a_L)/2 * h, and a diffusion of dpsi with coefficient g h.  Fluxes
through the outer faces (Dirichlet ends), Dirichlet potentials and the pinning of absent
species are implicit source terms; every exterior-face coefficient of the FiPy terms is zero,
so no FiPy boundary condition adds anything the native operator does not have.

The linear solves use FiPy's LinearLUSolver with an explicit tight tolerance (its default
criterion lets iterations stall near 1e-3, see FiPy issue tracker); the nonlinear iteration is
converged on the same update norm as the native solver, and a stalled iteration raises.
Closed systems need the inventory constraint, which is not a local FiPy term: they relax to
equilibrium in pseudo-time (implicit Euler with growing steps), which conserves every inventory.
"""
from __future__ import annotations

import numpy as np

from sim.errors import ConvergenceError
from sim.units import FARADAY
from sim.pnp import operator as op
from sim.pnp.newton import SolverOptions, damping, from_w, update_norm, interleave, relax_closed, solve_equilibrium, to_w

def _fipy():
    import fipy
    return fipy


def _implicit_source_class():
    """ImplicitSourceTerm that is implicit whatever the sign of its coefficient.

    FiPy's ImplicitSourceTerm treats a coefficient whose sign would weaken the diagonal
    *explicitly* (from the variable's current value).  For Newton corrections, whose current
    value is zero, that silently drops couplings such as F z c for z = -1.
    """
    fp = _fipy()
    from fipy.tools import numerix

    class AlwaysImplicitSourceTerm(fp.ImplicitSourceTerm):
        def _getWeight(self, var, transientGeomCoeff=None, diffusionGeomCoeff=None):
            zero = numerix.zeros(var.shape, "d")
            return {"diagonal": numerix.ones(var.shape, bool), "old value": zero,
                    "b vector": zero, "new value": zero}

    return AlwaysImplicitSourceTerm


class FiPyLinearization:
    """FiPy variables and a builder of the coupled Newton system on one mesh."""

    def __init__(self, p):
        fp = _fipy()
        self.fp = fp
        self.p = p
        self.mesh = fp.Grid1D(dx=p.mesh.widths)
        self.dpsi = fp.CellVariable(mesh=self.mesh, name="dpsi", value=0.0)
        self.dc = [fp.CellVariable(mesh=self.mesh, name=f"d{s}", value=0.0) for s in p.species]
        self.solver = fp.LinearLUSolver(tolerance=1e-15, iterations=10, precon=None)
        self.Source = _implicit_source_class()

    def _face(self, interior):
        v = np.zeros(self.p.n + 1)
        v[1:-1] = interior
        return self.fp.FaceVariable(mesh=self.mesh, value=v)

    def _vface(self, interior):
        v = np.zeros((1, self.p.n + 1))
        v[0, 1:-1] = interior
        return self.fp.FaceVariable(mesh=self.mesh, rank=1, value=v)

    def _cell(self, values):
        return self.fp.CellVariable(mesh=self.mesh, value=values)

    def _terms(self, g, psi, c, dpsi, dc, bsrc, dt=None):
        """Left-hand sides of the linearised Poisson and Nernst-Planck equations (per unit volume)
        in FiPy terms, acting on the variables dpsi and dc (one per species)."""
        fp, p = self.fp, self.p
        n, dx, V_T = p.n, g.dx, p.thermal_voltage
        lhs_psi = fp.DiffusionTerm(coeff=self._face(g.eps_f * V_T), var=dpsi) \
            + self.Source(coeff=self._cell(bsrc), var=dpsi)
        for s, var in enumerate(dc):
            lhs_psi += self.Source(coeff=self._cell(FARADAY * p.z[s] * np.ones(n)), var=var)
        N, dK, dL, dpL = op.face_fluxes(p, g, psi, c, with_derivatives=True)
        Nb, dNb_dc, dNb_dpsi = op.boundary_fluxes(p, g, psi, c, with_derivatives=True)
        lhs_c = []
        for s, var in enumerate(dc):
            src_c = np.zeros(n)
            src_psi = np.zeros(n)
            src_c[0] -= dNb_dc[0, s] / dx[0]
            src_c[-1] += dNb_dc[1, s] / dx[-1]
            src_psi[0] -= dNb_dpsi[0, s] / dx[0]
            src_psi[-1] += dNb_dpsi[1, s] / dx[-1]
            if dt is not None:
                src_c += 1.0 / dt
            src_c = np.where(p.present[s], src_c, 1.0)     # absent: dc = 0 (row holds nothing else)
            lhs_c.append(fp.CentralDifferenceConvectionTerm(coeff=self._vface(dK[s] + dL[s]), var=var)
                         - fp.DiffusionTerm(coeff=self._face(0.5 * (dK[s] - dL[s]) * g.h), var=var)
                         + fp.DiffusionTerm(coeff=self._face(dpL[s] * g.h), var=dpsi)
                         + self.Source(coeff=self._cell(src_c), var=var)
                         + self.Source(coeff=self._cell(np.where(p.present[s], src_psi, 0.0)), var=dpsi))
        return lhs_psi, lhs_c

    def impedance_current(self, g, psi, c, frequencies_Hz, species):
        """Z(f) (ohm m^2) of the current drive of `sim.pnp.impedance.current_drive`, from a real
        block system assembled in FiPy terms: with dy = r + i m and the storage i w dc,
        L(r) - w m_c = b and L(m) + w r_c = 0 (L: the linearised operator per unit volume)."""
        fp, p = self.fp, self.p
        n, dx = p.n, g.dx
        bsrc = np.zeros(n)
        for b, k in ((0, 0), (1, n - 1)):
            if np.isfinite(p.psi_bc[b]):
                bsrc[k] -= g.eps_b[b] * p.thermal_voltage / (dx[k] / 2) / dx[k]
        re_psi = fp.CellVariable(mesh=self.mesh, value=0.0)
        im_psi = fp.CellVariable(mesh=self.mesh, value=0.0)
        re_c = [fp.CellVariable(mesh=self.mesh, value=0.0) for _ in p.species]
        im_c = [fp.CellVariable(mesh=self.mesh, value=0.0) for _ in p.species]
        s0, z = species, p.z[species]
        b = np.zeros(n)
        b[0] = 1.0 / (z * FARADAY) / dx[0]             # dI = 1 A/m^2 enters cell 0 as species s0
        om1 = 1.0 - c[s0, 0] / p.c_max[s0, 0]
        Z = np.empty(len(frequencies_Hz), complex)
        for i, f in enumerate(frequencies_Hz):
            omega = 2 * np.pi * f
            lr_psi, lr_c = self._terms(g, psi, c, re_psi, re_c, bsrc)
            li_psi, li_c = self._terms(g, psi, c, im_psi, im_c, bsrc)
            eqs = (lr_psi == self._cell(np.zeros(n))) & (li_psi == self._cell(np.zeros(n)))
            for s in range(p.n_species):
                mass = self._cell(omega * p.present[s])
                rhs = b if s == s0 else np.zeros(n)
                eqs = eqs & ((lr_c[s] - self.Source(coeff=mass, var=im_c[s])) == self._cell(rhs)) \
                    & ((li_c[s] + self.Source(coeff=mass, var=re_c[s])) == self._cell(np.zeros(n)))
            eqs.solve(solver=self.solver)
            dpsi0 = re_psi.value[0] + 1j * im_psi.value[0]
            dc0 = re_c[s0].value[0] + 1j * im_c[s0].value[0]
            Z[i] = p.thermal_voltage * (dc0 / (c[s0, 0] * om1) + z * dpsi0)
        return Z

    def solve(self, g, psi, c, c_old=None, dt=None, boundary_flux_in=None):
        """Newton update (dpsi, dc) of the physical (unscaled) system at (psi, c).

        With no Dirichlet potential anywhere, Poisson alone is singular: psi in the last cell is
        pinned by adding k (psi_N + dpsi_N) to its row, whose exact value is then zero because
        the Poisson rows sum to the total charge, which the balances conserve."""
        p = self.p
        n, dx, V_T = p.n, g.dx, p.thermal_voltage
        R_psi, R_c = op.residual(p, g, psi, c, c_old=c_old, dt=dt, steady_closed=False,
                                 boundary_flux_in=boundary_flux_in, gauge=False)
        P = R_psi / g.row_psi                          # physical Poisson residual (C/m^2)
        Dv = np.where(p.present, R_c / g.row_c, 0.0)   # physical balances (mol m^-2 s^-1)
        # Poisson
        bsrc = np.zeros(n)
        for b, k in ((0, 0), (1, n - 1)):
            if np.isfinite(p.psi_bc[b]):
                bsrc[k] -= g.eps_b[b] * V_T / (dx[k] / 2) / dx[k]
        if not np.any(np.isfinite(p.psi_bc)):
            pin = g.eps_b[1] * V_T / (dx[-1] / 2) / dx[-1]
            bsrc[-1] += pin
            P[-1] += pin * dx[-1] * psi[-1]
        lhs_psi, lhs_c = self._terms(g, psi, c, self.dpsi, self.dc, bsrc, dt=dt)
        eqs = (lhs_psi == self._cell(-P / dx))
        for s, eq in enumerate(lhs_c):
            eqs = eqs & (eq == self._cell(-Dv[s] / dx))
        self.dpsi.setValue(0.0)
        for var in self.dc:
            var.setValue(0.0)
        eqs.solve(solver=self.solver)
        dpsi = np.array(self.dpsi.value)
        dc = np.array([np.where(p.present[s], v.value, 0.0) for s, v in enumerate(self.dc)])
        return dpsi, dc


def _logit_update(p, psi, c, dpsi, dc, opts):
    """Apply a Newton update as the native solver does: in psi and w = logit(theta).

    The linear Newton direction in c maps to w by dw = dc / (c (1 - theta)); stepping in w keeps
    0 < c < c_max.  The update is scaled as the native solver's (`newton.damping`).
    Returns (psi, c, update norm)."""
    cmax = np.where(p.present, p.c_max, 1.0)
    dw = np.where(p.present, dc / np.maximum(c * (1.0 - c / cmax), 1e-300), 0.0)
    step = update_norm(psi, dpsi, dw)
    alpha = damping(opts, psi, dpsi, dw)
    w = to_w(p, c) + alpha * dw
    return psi + alpha * dpsi, from_w(p, w), step, alpha


def make_fipy_newton(max_sweeps=200):
    cache = {}

    def fipy_newton(p, g, psi, c, opts, stats, c_old=None, dt=None, boundary_flux_in=None, w=None):
        lin = cache.get(id(p.mesh))
        if lin is None:
            lin = cache[id(p.mesh)] = FiPyLinearization(p)
        lin.p = p
        history = []
        for it in range(min(opts.max_iter, max_sweeps)):
            dpsi, dc = lin.solve(g, psi, c, c_old=c_old, dt=dt, boundary_flux_in=boundary_flux_in)
            if not (np.all(np.isfinite(dpsi)) and np.all(np.isfinite(dc))):
                raise ConvergenceError("FiPy sweep produced NaN or inf", history,
                                       hint="ramp the parameter or refine the mesh")
            psi_try, c_try, step, alpha = _logit_update(p, psi, c, dpsi, dc, opts)
            if step > opts.divergence_step:
                raise ConvergenceError(f"FiPy Newton diverging (update {step:.3g})", history, last_step=step,
                                       hint="ramp the parameter (continuation) or reduce the time step")
            psi, c = psi_try, c_try
            history.append(step)
            stats.newton_iterations += 1
            if alpha == 1.0 and step < opts.tol:
                R_psi, R_c = op.residual(p, g, psi, c, c_old=c_old, dt=dt, steady_closed=p.closed and dt is None,
                                         boundary_flux_in=boundary_flux_in)
                stats.final_residual = float(np.max(np.abs(interleave(R_psi, R_c))))
                stats.residual_history += history
                stats.w = to_w(p, c)
                return psi, c
        raise ConvergenceError(f"FiPy Newton sweeps did not converge in {len(history)} sweeps "
                               "(stalled)", history, hint="ramp the parameter or refine the mesh")
    return fipy_newton


def solve_equilibrium_fipy(problem, opts=None, max_sweeps=200):
    """Equilibrium with the FiPy backend.

    Open systems: Newton with the same continuation as the native solver.  Closed systems: the
    inventory constraint is not a local FiPy term, so they relax to equilibrium in pseudo-time
    (`newton.relax_closed`), which conserves every inventory exactly."""
    opts = opts or SolverOptions()
    fipy_newton = make_fipy_newton(max_sweeps)
    if problem.closed:
        return relax_closed(problem, opts, fipy_newton)
    return solve_equilibrium(problem, opts, newton_fn=fipy_newton)
