"""The FiPy solver: the PNP equations in FiPy's own terms, independent of the native discretization.

It shares only the problem data (mesh widths, material data, boundary values) and the pointwise laws of
`sim.pnp.laws` (the lattice-gas statistics and the mobility laws, which define the model) with the native
solver; the discretization, the linearization, the nonlinear iteration and the linear solves are FiPy's.
Nothing of `operator`, `newton`, `predictor`, `transient` or `impedance` is imported, so agreement between
the two solvers checks the native discretization and solver (tests/test_fipy_independent.py).

Equations per unit volume, with psi = e phi / kT and FiPy's face interpolation (its harmonic face value of a
cell quantity is the distance-weighted harmonic mean):

    Poisson         DiffusionTerm(eps V_T, psi) + sum_s ImplicitSourceTerm(F z_s, c_s) - F c_bg = 0
    Nernst-Planck   TransientTerm(c_s) = DiffusionTerm(Gamma_s, c_s) - ExponentialConvectionTerm(u_s, c_s)

with Gamma_s = D_f m_f (the face diffusivity times the face mobility of the carrier's law) and the drift
velocity u_s = -Gamma_s grad Phi_s, Phi_s = z_s psi + m_s - ln c_max - ln(1 - theta_s) (the excess chemical
potential of the lattice gas).  FiPy's exponential scheme weights the face value by
alpha(P) = (P - 1)/P + 1/(e^P - 1) at the Peclet number P = u h / Gamma, which makes diffusion plus
convection the Scharfetter-Gummel flux (up to FiPy's series cut at |P| < 1e-3, a relative flux error below
1e-7).  Dirichlet values are FiPy constraints; blocked faces are FiPy's default no-flux faces.

Equilibrium (open problems: every species region touches a reservoir, and some potential is fixed):
every eta_s is uniform and known from its reservoir, so c_s = c_max theta(eta_s - m_s - z_s psi) and
Poisson becomes one nonlinear equation in psi, solved by FiPy sweeps of its Newton linearization
(ImplicitSourceTerm of d rho/d psi) with an Armijo line search on its convex energy.  The steady
Nernst-Planck equations are then checked in FiPy's terms at that state (`nernst_planck_residual`).

Time steps: the coupled system is swept to convergence, with the drift of each carrier linearized in psi
(DiffusionTerm(Gamma z c_f, psi) minus its value at the last sweep), and Gamma, u and the mobility lagged.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from sim.errors import ConvergenceError, SimError
from sim.pnp import laws
from sim.units import FARADAY, VACUUM_PERMITTIVITY


class FiPyUnsupported(SimError):
    """A problem the FiPy solver does not handle (it says which and why)."""


@dataclass
class FiPyStats:
    """What the FiPy solver reports (the fields the runners read from any solver)."""
    newton_iterations: int = 0            # FiPy sweeps
    lambda_steps: int = 1
    rejected_lambda_steps: int = 0
    predictor_iterations: int = 0
    residual_history: list = field(default_factory=list)
    final_residual: float = np.nan        # FiPy's steady Nernst-Planck residual, relative (see below)
    wall_time_s: float = 0.0
    w: np.ndarray = None
    round_off_stops: int = 0


def _fipy():
    import fipy
    return fipy


def _always_implicit_source():
    """ImplicitSourceTerm that stays implicit whatever the sign of its coefficient (FiPy otherwise
    treats a coefficient that weakens the diagonal explicitly, from the variable's current value)."""
    fp = _fipy()
    from fipy.tools import numerix

    class AlwaysImplicitSourceTerm(fp.ImplicitSourceTerm):
        def _getWeight(self, var, transientGeomCoeff=None, diffusionGeomCoeff=None):
            zero = numerix.zeros(var.shape, "d")
            return {"diagonal": numerix.ones(var.shape, bool), "old value": zero, "b vector": zero,
                    "new value": zero}

    return AlwaysImplicitSourceTerm


def _blocked_faces():
    """FiPy's Peclet number is 0 / 0 on faces a species cannot cross (zero diffusivity and velocity); the
    weight it gives is multiplied by the zero coefficient, so the warning says nothing."""
    return np.errstate(divide="ignore", invalid="ignore")


def _runs(mask):
    """Index arrays of the connected runs of True in a boolean array."""
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return []
    return np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1)


class FiPyModel:
    """The PNP problem `p` as FiPy variables and terms on FiPy's Grid1D of the same cell widths."""

    def __init__(self, p):
        if p.kinetics:
            raise FiPyUnsupported("the FiPy solver has no Butler-Volmer interface kinetics: use solver = 'native'")
        fp = self.fp = _fipy()
        self.p = p
        self.mesh = fp.Grid1D(dx=np.asarray(p.mesh.widths, float))
        self.V_T = p.thermal_voltage
        self.S = p.n_species
        self.n = p.n
        self.dx = np.asarray(p.mesh.widths, float)
        self.cmax = np.where(p.present, p.c_max, 1.0)
        eps = fp.CellVariable(mesh=self.mesh, value=VACUUM_PERMITTIVITY * np.asarray(p.eps_r, float))
        self.eps_face = np.asarray(eps.harmonicFaceValue.value)          # FiPy's face permittivity
        self.dist = np.asarray(self.mesh._cellDistances)                  # centre-centre, centre-face outside
        self.psi = fp.CellVariable(mesh=self.mesh, name="psi", value=0.0)
        self.c = [fp.CellVariable(mesh=self.mesh, name=name, value=0.0, hasOld=True) for name in p.species]
        # X_s = (d Phi_s / d c_s) c_s at the current iterate (an equation X = slope c each): the variable
        # that carries the deferred correction of the flux in c (`_nernst_planck`); a DiffusionTerm on c itself
        # would enter the Peclet number of FiPy's exponential scheme and change the discretization
        self.cc = [fp.CellVariable(mesh=self.mesh, name=name + "_excess", value=0.0) for name in p.species]
        for b, faces in ((0, self.mesh.facesLeft), (1, self.mesh.facesRight)):
            if np.isfinite(p.psi_bc[b]):
                self.psi.constrain(float(p.psi_bc[b]), faces)
        self._constrain_species()
        self.Source = _always_implicit_source()
        self.solver = fp.LinearLUSolver(tolerance=1e-15, iterations=10, precon=None)
        # face diffusivity: FiPy's harmonic face value where the species is on both sides, else 0
        self.D_face = []
        for s in range(self.S):
            Dcell = fp.CellVariable(mesh=self.mesh, value=np.where(p.present[s], p.D[s], 1.0))
            Df = np.asarray(Dcell.harmonicFaceValue.value).copy()
            pres = p.present[s]
            Df[1:-1] = np.where(pres[:-1] & pres[1:], Df[1:-1], 0.0)
            Df[0], Df[-1] = (Df[0] if pres[0] else 0.0), (Df[-1] if pres[-1] else 0.0)
            self.D_face.append(Df)

    # ---- the laws at cells and boundary faces ------------------------------------------------
    def _theta(self, c):
        theta = np.where(self.p.present, c / self.cmax, 0.0)
        return np.clip(theta, 1e-300, 1.0 - 1e-16)

    def _Phi(self, psi, c):
        """Phi (S, N) at cells, and the mobility factor m (S, N), from (psi, c)."""
        p = self.p
        theta = self._theta(c)
        om = 1.0 - theta
        Phi = laws.effective_potential(p.z[:, None], psi[None, :], p.mu0, self.cmax, np.log(om))
        m = laws.mobility(p.mobility_code, p.mobility_param, theta, om)[0]
        return Phi, m

    def _boundary_state(self, b, s, psi_cell):
        """(Phi, m) of the Dirichlet state of species s at outer face b, or None when it has none."""
        p = self.p
        k = 0 if b == 0 else self.n - 1
        cb = p.c_bc[b, s]
        if np.isfinite(p.eta_bc[b, s]):
            raise FiPyUnsupported("the FiPy solver has no reservoir boundary at a set electrochemical potential "
                                  "(potentiostatic runs): use solver = 'native'")
        if not (np.isfinite(cb) and p.present[s, k]):
            return None
        theta = cb / self.cmax[s, k]
        psib = p.psi_bc[b] if np.isfinite(p.psi_bc[b]) else psi_cell
        Phi = laws.effective_potential(p.z[s], psib, p.mu0[s, k], self.cmax[s, k], np.log1p(-theta))
        m = laws.mobility(np.array([p.mobility_code[s, k]]), np.array([p.mobility_param[s, k]]),
                          np.array([theta]), np.array([1.0 - theta]))[0][0]
        return Phi, m

    def _transport(self, s, psi, Phi, m):
        """(Gamma, u) of species s on every face (FiPy's face order, left to right)."""
        n = self.n
        Gamma = np.zeros(n + 1)
        u = np.zeros(n + 1)
        Df = self.D_face[s]
        Gamma[1:-1] = Df[1:-1] * laws.face_mobility(m[s, :-1], m[s, 1:])
        u[1:-1] = -Gamma[1:-1] * (Phi[s, 1:] - Phi[s, :-1]) / self.dist[1:-1]
        for b, f, k in ((0, 0, 0), (1, n, n - 1)):
            state = self._boundary_state(b, s, psi[k])
            if state is None:
                continue
            Phib, mb = state
            Gamma[f] = Df[f] * laws.face_mobility(mb, m[s, k])
            grad = (Phib - Phi[s, k]) / self.dist[f] if b == 1 else (Phi[s, k] - Phib) / self.dist[f]
            u[f] = -Gamma[f] * grad
        return Gamma, u

    def _constrain_species(self):
        """Dirichlet concentrations as FiPy constraints (and their excess-potential variables, whose value
        there cancels in the deferred correction: 0)."""
        p = self.p
        for s, var in enumerate(self.c):
            for b, faces, k in ((0, self.mesh.facesLeft, 0), (1, self.mesh.facesRight, self.n - 1)):
                if np.isfinite(p.c_bc[b, s]) and p.present[s, k]:
                    var.constrain(float(p.c_bc[b, s]), faces)
                    self.cc[s].constrain(0.0, faces)

    def _face(self, values, rank=0):
        fp = self.fp
        if rank:
            return fp.FaceVariable(mesh=self.mesh, rank=1, value=np.asarray(values)[None, :])
        return fp.FaceVariable(mesh=self.mesh, value=np.asarray(values))

    def _cell(self, values):
        return self.fp.CellVariable(mesh=self.mesh, value=np.asarray(values, float))

    def _poisson(self):
        """Poisson's equation, linear in (psi, c)."""
        fp, p = self.fp, self.p
        eq = fp.DiffusionTerm(coeff=self._face(self.eps_face * self.V_T), var=self.psi)
        for s, var in enumerate(self.c):
            eq += self.Source(coeff=self._cell(np.full(self.n, FARADAY * p.z[s])), var=var)
        return eq - self._cell(FARADAY * p.c_bg)

    def _nernst_planck(self, s, psi, c, Phi, m, coupled):
        """Right-hand side of the Nernst-Planck equation of species s in FiPy terms (per volume):
        DiffusionTerm(Gamma) - ExponentialConvectionTerm(u).  With `coupled`, plus the linearization of the
        flux in Phi = z psi + ... - ln(1 - theta) at the current iterate, as deferred corrections that
        vanish at convergence: DiffusionTerm(k, X) - div(k grad X) for X = z psi (k = -Gamma G z) and
        X = (dPhi/dc) c (k = -Gamma G), G = dS/d(dPhi) of the exponential flux (so the sweeps converge like
        Newton where the lattice saturates or the field is strong; the converged state is the same)."""
        fp, p = self.fp, self.p
        Gamma, u = self._transport(s, psi, Phi, m)
        var = self.c[s]
        rhs = fp.DiffusionTerm(coeff=self._face(Gamma), var=var) - \
            fp.ExponentialConvectionTerm(coeff=self._face(u, rank=1), var=var)
        if coupled:
            G = self._flux_slope(s, psi, c, Phi)
            for X, k in ((self.psi, -Gamma * G * p.z[s]), (self.cc[s], -Gamma * G)):
                kf = self._face(k)
                rhs = rhs + fp.DiffusionTerm(coeff=kf, var=X) - (kf * X.faceGrad).divergence
        return rhs

    def _flux_slope(self, s, psi, c, Phi):
        """G = B'(dPhi) c_K + B'(-dPhi) c_L of the exponential flux on every face (on an outer face with a
        Dirichlet state, of the half-cell flux to that state; 0 on blocked outer faces)."""
        n = self.n
        left, right = np.zeros(n + 1), np.zeros(n + 1)
        PhiK, PhiL = np.zeros(n + 1), np.zeros(n + 1)
        left[1:-1], right[1:-1] = c[s, :-1], c[s, 1:]
        PhiK[1:-1], PhiL[1:-1] = Phi[s, :-1], Phi[s, 1:]
        live = np.zeros(n + 1, bool)
        live[1:-1] = True
        for b, f, k in ((0, 0, 0), (1, n, n - 1)):
            state = self._boundary_state(b, s, psi[k])
            if state is None:
                continue
            cb = self.p.c_bc[b, s]
            live[f] = True
            if b == 0:
                left[f], right[f], PhiK[f], PhiL[f] = cb, c[s, k], state[0], Phi[s, k]
            else:
                left[f], right[f], PhiK[f], PhiL[f] = c[s, k], cb, Phi[s, k], state[0]
        dPhi = np.where(live, PhiL - PhiK, 0.0)
        B1, dB1 = laws.bernoulli(dPhi)
        B2, dB2 = laws.bernoulli(-dPhi)
        return np.where(live, dB1 * left + dB2 * right, 0.0)

    def _reaction_rates(self, c):
        """[(nu, r, {species: dr/dc})] of the problem's reactions at c (`laws.lattice_mass_action`; the
        reactions are neutral, so log K = -sum nu m)."""
        p = self.p
        theta = self._theta(c)
        om = 1.0 - theta
        out = []
        for rx in p.reactions:
            reactants = [s for s in range(self.S) for _ in range(int(max(-rx.nu[s], 0)))]
            products = [s for s in range(self.S) for _ in range(int(max(rx.nu[s], 0)))]
            log_K = -(rx.nu[:, None] * np.where(p.present, p.mu0, 0.0)).sum(axis=0)
            r, d_r, d_p = laws.lattice_mass_action(rx.rate, rx.c_ref, log_K, theta[reactants], om[reactants],
                                                   theta[products], om[products])
            slopes = {}
            for s, d in zip(reactants + products, list(d_r) + list(d_p)):
                slopes[s] = slopes.get(s, 0.0) + d / self.cmax[s]
            out.append((rx.nu, r, slopes))
        return out

    def _reactions(self, s, c, rates):
        """Production of species s by the reactions, linearized at c in FiPy terms:
        nu_s [r + sum_u dr/dc_u (c_u - c_u^k)] = sum_u ImplicitSourceTerm(nu_s dr/dc_u, c_u) + the rest."""
        term = self._cell(np.zeros(self.n))
        for nu, r, slopes in rates:
            if nu[s] == 0:
                continue
            rest = nu[s] * r
            for u, d in slopes.items():
                term = term + self.Source(coeff=self._cell(nu[s] * d), var=self.c[u])
                rest = rest - nu[s] * d * c[u]
            term = term + self._cell(rest)
        return term

    def _excess_slope(self, c):
        """d Phi / d c = 1 / (c_max (1 - theta)) in every cell (S, N)."""
        return 1.0 / (self.cmax * (1.0 - self._theta(c)))

    # ---- equilibrium ---------------------------------------------------------------------------
    def reservoir_levels(self):
        """eta_s / kT (S, N) from each species region's reservoir (a Dirichlet concentration at an
        outer face with a fixed potential there); FiPyUnsupported when a region has none."""
        p = self.p
        eta = np.full((self.S, self.n), np.nan)
        for s in range(self.S):
            for idx in _runs(p.present[s]):
                for b, k in ((0, 0), (1, self.n - 1)):
                    if k in (idx[0], idx[-1]) and np.isfinite(p.c_bc[b, s]) and np.isfinite(p.psi_bc[b]):
                        theta = p.c_bc[b, s] / p.c_max[s, k]
                        eta[s, idx] = p.mu0[s, k] + laws.logit(theta) + p.z[s] * p.psi_bc[b]
                        break
                else:
                    raise FiPyUnsupported(f"species {p.species[s]} has a region without a reservoir (a closed "
                                          "system): the FiPy solver handles open problems only; use solver = "
                                          "'native' or ensemble = 'open'")
        if not np.any(np.isfinite(p.psi_bc)):
            raise FiPyUnsupported("no fixed potential at either end: the FiPy solver needs one")
        return eta

    def _charge(self, psi, base):
        """rho / F (N), d rho / d psi (N) and softplus(w) (S, N) at psi; base = eta - m."""
        p = self.p
        w = np.where(p.present, laws.reservoir_logit(base, 0.0, p.z[:, None], psi[None, :]), -np.inf)
        theta, om, _ = laws.occupancy_from_logit(w)
        cm = np.where(p.present, p.c_max, 0.0)
        rho = (p.z[:, None] * cm * theta).sum(axis=0) - p.c_bg
        drho = -(p.z[:, None] ** 2 * cm * theta * om).sum(axis=0)
        return rho, drho, laws.softplus(w), w

    def _energy(self, psi, base):
        """The convex energy whose stationarity is Poisson's equation with Fermi-Dirac carriers:
        E = 1/2 sum_f a_f (psi_L - psi_K)^2 + 1/2 sum_b a_b (psi_k - psi_b)^2
            + F sum_k dx_k [sum_s c_max softplus(w_s) + c_bg psi_k],   a = eps V_T / distance."""
        p = self.p
        a = self.eps_face * self.V_T / self.dist
        e = 0.5 * np.sum(a[1:-1] * np.diff(psi) ** 2)
        for b, f, k in ((0, 0, 0), (1, self.n, self.n - 1)):
            if np.isfinite(p.psi_bc[b]):
                e += 0.5 * a[f] * (psi[k] - p.psi_bc[b]) ** 2
        soft = self._charge(psi, base)[2]
        cm = np.where(p.present, p.c_max, 0.0)
        return e + FARADAY * np.sum(self.dx * ((cm * soft).sum(axis=0) + p.c_bg * psi))

    def equilibrium(self, tol=1e-12, max_iter=400):
        """(psi, c, w, sweeps) of the open problem's equilibrium (module docstring)."""
        fp, p = self.fp, self.p
        base = self.reservoir_levels() - p.mu0
        psi = np.zeros(self.n)
        E = self._energy(psi, base)
        for it in range(max_iter):
            rho, drho, _, _ = self._charge(psi, base)
            self.psi.setValue(psi)
            eq = (fp.DiffusionTerm(coeff=self._face(self.eps_face * self.V_T), var=self.psi)
                  + self.Source(coeff=self._cell(FARADAY * drho), var=self.psi)
                  + self._cell(FARADAY * (rho - drho * psi)))
            with _blocked_faces():
                eq.solve(var=self.psi, solver=self.solver)
            d = np.clip(np.asarray(self.psi.value) - psi, -50.0, 50.0)
            t = 1.0
            for _ in range(60):                  # Armijo on E (its gradient is -(Poisson residual) dx)
                E_t = self._energy(psi + t * d, base)
                if E_t <= E - 1e-4 * t * self._slope(psi, d, rho) or abs(E_t - E) <= 1e-15 * abs(E):
                    break
                t *= 0.5
            psi = psi + t * d
            E = E_t
            if t == 1.0 and np.max(np.abs(d)) < tol * max(1.0, float(np.ptp(psi))):
                break
        else:
            raise ConvergenceError(f"FiPy equilibrium sweeps did not converge in {max_iter} sweeps", [],
                                   hint="refine the mesh near the interfaces")
        _, _, _, w = self._charge(psi, base)
        c = np.where(p.present, self.cmax * laws.occupancy_from_logit(w)[0], 0.0)
        return psi, c, np.where(p.present, w, 0.0), it + 1

    def _slope(self, psi, d, rho):
        """-(dE/dpsi) . d: the decrease of E along d predicted by its gradient (the Poisson residual)."""
        p = self.p
        a = self.eps_face * self.V_T / self.dist
        grad = -FARADAY * self.dx * rho
        flux = a[1:-1] * np.diff(psi)
        grad[:-1] -= flux
        grad[1:] += flux
        for b, f, k in ((0, 0, 0), (1, self.n, self.n - 1)):
            if np.isfinite(p.psi_bc[b]):
                grad[k] += a[f] * (psi[k] - p.psi_bc[b])
        return -float(grad @ d)

    def nernst_planck_residual(self, psi, c):
        """max over species and cells of |FiPy's steady Nernst-Planck residual of the cell| (mol m^-2 s^-1,
        FiPy's rows are cell-integrated) over the cell's flux scale, the larger Gamma max(c_K, c_L) / h of
        its two faces: zero at an exact equilibrium of FiPy's own flux discretization."""
        Phi, m = self._Phi(psi, c)
        self.psi.setValue(psi)
        worst = 0.0
        for s, var in enumerate(self.c):
            if not self.p.present[s].any():
                continue
            var.setValue(c[s])
            eq = self._nernst_planck(s, psi, c, Phi, m, coupled=False)
            with _blocked_faces():
                r = np.abs(np.asarray(eq.justResidualVector(var=var, solver=self.solver)))
            Gamma = self._transport(s, psi, Phi, m)[0]
            cf = np.concatenate([[c[s, 0]], np.maximum(c[s, :-1], c[s, 1:]), [c[s, -1]]])
            face = Gamma * cf / self.dist
            scale = np.maximum(face[:-1], face[1:])
            ok = self.p.present[s] & (scale > 0)
            if ok.any():
                worst = max(worst, float(np.max(r[ok] / scale[ok])))
        return worst

    def _damped(self, psi, c, dpsi, dc, max_step=8.0):
        """Apply a sweep's change in psi and in the logit w of the occupancy, dw = dc / (c (1 - theta)), so
        that 0 < c < c_max; the whole change is scaled down so that no |dw| exceeds max_step.  Returns
        (psi, c, size of the change: max |dpsi| / max(1, psi range) and max |dw|)."""
        p = self.p
        theta = self._theta(c)
        w = np.where(p.present, laws.logit(theta), 0.0)
        dw = np.where(p.present, dc / np.maximum(c * (1.0 - theta), 1e-300), 0.0)
        big = float(np.max(np.abs(dw))) if dw.size else 0.0
        alpha = min(1.0, max_step / big) if big > 0 else 1.0
        w = w + alpha * dw
        c = np.where(p.present, self.cmax * laws.occupancy_from_logit(w)[0], 0.0)
        change = max(float(np.max(np.abs(dpsi))) / max(1.0, float(np.ptp(psi))), big)
        return psi + alpha * dpsi, c, change

    # ---- time steps ----------------------------------------------------------------------------
    def step(self, psi, c, c_old, dt, flux_in=None, tol=1e-10, max_sweeps=200):
        """(psi, c, sweeps) after one implicit Euler step of length dt from c_old (module docstring);
        flux_in (2, S): prescribed fluxes into the domain at the outer faces (mol m^-2 s^-1)."""
        fp, p = self.fp, self.p
        src = np.zeros((self.S, self.n))
        if flux_in is not None:
            src[:, 0] += np.asarray(flux_in[0]) / self.dx[0]
            src[:, -1] += np.asarray(flux_in[1]) / self.dx[-1]
        psi, c = psi.copy(), c.copy()
        history = []
        for it in range(max_sweeps):
            Phi, m = self._Phi(psi, c)
            slope = self._excess_slope(c)
            rates = self._reaction_rates(c)
            self.psi.setValue(psi)
            eqs = self._poisson() == 0.0
            for s, var in enumerate(self.c):
                var.setValue(c_old[s])
                var.updateOld()
                var.setValue(c[s])
                self.cc[s].setValue(slope[s] * c[s])
                rhs = self._nernst_planck(s, psi, c, Phi, m, coupled=True) + self._cell(src[s]) \
                    + self._reactions(s, c, rates)
                eqs = eqs & (fp.TransientTerm(var=var) == rhs)
                eqs = eqs & (fp.ImplicitSourceTerm(coeff=1.0, var=self.cc[s])
                             - self.Source(coeff=self._cell(slope[s]), var=var) == 0.0)
            with _blocked_faces():
                eqs.sweep(dt=dt, solver=self.solver)
            dpsi = np.asarray(self.psi.value) - psi
            dc = np.array([np.where(p.present[s], np.asarray(v.value) - c[s], 0.0) for s, v in enumerate(self.c)])
            if not (np.all(np.isfinite(dpsi)) and np.all(np.isfinite(dc))):
                raise ConvergenceError("FiPy sweep gave NaN or inf", history, hint="reduce the time step")
            psi, c, change = self._damped(psi, c, dpsi, dc)
            history.append(change)
            if change < tol:
                return psi, c, it + 1
            if it > 4 and change > 0.9 * history[-2] and change > 1e-6:
                break
        raise ConvergenceError(f"FiPy sweeps of a time step did not converge ({len(history)} sweeps, last change "
                               f"{history[-1]:.3g})", history, hint="reduce the time step")


def solve_equilibrium_fipy(problem, opts=None, max_sweeps=400):
    """Equilibrium (psi, c, FiPyStats) of an open problem by the FiPy solver (module docstring).
    stats.final_residual is FiPy's steady Nernst-Planck residual at the result (relative)."""
    t0 = time.perf_counter()
    model = FiPyModel(problem)
    tol = 1e-12 if opts is None else min(1e-12, opts.tol)
    psi, c, w, sweeps = model.equilibrium(tol=tol, max_iter=max_sweeps)
    stats = FiPyStats(newton_iterations=sweeps, w=w)
    stats.final_residual = model.nernst_planck_residual(psi, c)
    stats.residual_history = [stats.final_residual]
    stats.wall_time_s = time.perf_counter() - t0
    return psi, c, stats


def make_fipy_newton(max_sweeps=200):
    """A time-step solver with the signature of the native `newton` (for `sim.pnp.transient.integrate`):
    one implicit step by `FiPyModel.step`.  The native geometry argument is not used."""
    models = {}

    def fipy_newton(p, g, psi, c, opts, stats, c_old=None, dt=None, boundary_flux_in=None, w=None):
        if c_old is None:
            raise FiPyUnsupported("the FiPy step solver needs a time step (equilibria: solve_equilibrium_fipy)")
        key = id(p.mesh)
        model = models.get(key)
        if model is None or model.p is not p:
            model = models[key] = FiPyModel(p)
        psi, c, sweeps = model.step(psi, c, c_old, dt, boundary_flux_in, tol=min(opts.tol, 1e-9),
                                    max_sweeps=max_sweeps)
        stats.newton_iterations += sweeps
        stats.w = None
        return psi, c
    return fipy_newton
