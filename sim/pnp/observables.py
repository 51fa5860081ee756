"""Observables of a PNP state: interface potentials, SCL charge, thickness and resistance.

Each interface has two sides.  A side is the half of the adjacent layer nearest the interface
(the whole layer for an outer layer); its "bulk" reference is the cell farthest from the
interface.  For side cells k:

    potential drop     dphi = phi(interface) - phi(bulk reference)                   (V)
    SCL charge         Q = F sum_k (sum_s z_s c_sk - c_bg,k) dx_k                     (C/m^2)
    thickness (1 %)    farthest distance from the interface where |c - c_b| / c_b = 1 % (m),
                       log-interpolated between cell centres
    thickness (moment) sum |x_k - x_i| |rho_k| dx_k / sum |rho_k| dx_k               (m)
    R_SCL              sum_k (1/sigma_k - 1/sigma_b) dx_k,
                       sigma = (F^2 / R T) sum_i z_i^2 D_i c_i m_i(theta_i) over the ionic carriers
                       (m_i: the carrier's mobility law, `laws`)

the 1 % thickness taken on the ionic carrier that deviates most.  phi at the interface is the flux-
continuous face value (eps_K phi_K / h_K + eps_L phi_L / h_L) / (eps_K / h_K + eps_L / h_L).
"""
from __future__ import annotations

import numpy as np

from sim.units import FARADAY, GAS_CONSTANT
from sim.pnp.carriers import ionic_species
from sim.pnp import laws
from sim.pnp.operator import occupancy


def li_index(p):
    """Index of the species whose eta is the Li+ electrochemical potential (Li+, else Li_i*)."""
    for name in ("Li", "Li_i"):
        if name in p.species:
            return p.species.index(name)
    return 0


#: a cell is blocked by saturation where the carriers' mobility laws cut its conductivity below this
#: fraction of what the same carriers would give unhindered (m = 1)
BLOCKED_FRACTION = 1e-3
#: the excess resistance of a side is not defined (NaN) when blocked cells hold more than this share of
#: its resistance integral
BLOCKED_SHARE = 0.5


def excess_resistance(p, c, sigma, sigma_b, cells, w=None):
    """(Delta R, reason): the space-charge excess resistance of a side, sum_k (1/sigma_k - 1/sigma_b,k) dx_k
    (ohm m^2; negative where the layer conducts better than the bulk), or NaN with the reason where
    more than BLOCKED_SHARE of sum dx / sigma lies in cells whose carriers the lattice saturates (sigma
    below BLOCKED_FRACTION of the unhindered conductivity, m = 1): there the continuum mobility law says
    that no carrier can move, which it cannot decide (other hop mechanisms take over), so it gives no
    resistance.  reason is "" when the value is defined."""
    dx = p.mesh.widths[cells]
    with np.errstate(divide="ignore"):
        inv = dx / sigma[cells]
        free = conductivity(p, c, w=w, unhindered=True)[cells]
        blocked = sigma[cells] < BLOCKED_FRACTION * free
        total = float(np.sum(inv))
        if blocked.any() and np.isfinite(total) and np.sum(inv[blocked]) > BLOCKED_SHARE * total:
            width = float(np.sum(dx[blocked]))
            return np.nan, (f"saturated layer: {100 * np.sum(inv[blocked]) / total:.0f} % of the resistance lies in "
                            f"{width * 1e9:.3g} nm where the carriers' mobility laws leave them less than "
                            f"{BLOCKED_FRACTION:g} of their mobility; the continuum law cannot say how charge "
                            "crosses such a layer")
        if not np.isfinite(total):
            return np.nan, "no ionic carrier conducts in part of the layer"
        return float(np.sum((1 / sigma[cells] - 1 / sigma_b[cells]) * dx)), ""


def conductivity(p, c, s=None, w=None, unhindered=False):
    """sigma(x) = (F^2 / R T) sum_i z_i^2 D_i c_i m_i(theta_i) (S/m) over the ionic carriers
    (every species but electrons), or of species s alone; 0 where absent.  m_i is the carrier's
    mobility law (`laws.mobility`, `laws.conductivity_weight`); unhindered: with m = 1.  w: logit(theta),
    for an accurate 1 - theta in saturated cells."""
    theta, one_minus = occupancy(p, c, w)[:2]
    m = np.ones_like(theta) if unhindered else laws.mobility(p.mobility_code, p.mobility_param, theta, one_minus)[0]
    idx = [s] if s is not None else ionic_species(p.species)
    terms = [laws.conductivity_weight(p.z[i], p.D[i], c[i], m[i]) * p.present[i] for i in idx]
    return FARADAY ** 2 * np.sum(terms, axis=0) / (GAS_CONSTANT * p.temperature_K)


def bulk_conductivity(p):
    """sigma of the bulk state of every cell (S/m)."""
    return conductivity(p, np.where(p.present, p.c_bulk, 0.0))


def _deviation(p, c, cells):
    """max over ionic carriers of |c - c_bulk| / c_bulk in the given cells."""
    devs = [np.abs(c[i, cells] - p.c_bulk[i, cells]) / p.c_bulk[i, cells]
            for i in ionic_species(p.species) if p.present[i, cells[0]]]
    return np.max(devs, axis=0) if devs else None


def _threshold_distance(dist, dev, level):
    """Distance of the farthest crossing of dev = level, interpolating log(dev) between the
    last cell above the level and the next one (cells ordered away from the interface)."""
    over = np.flatnonzero(dev > level)
    if over.size == 0:
        return 0.0
    j = over[-1]
    if j + 1 >= dist.size:
        return float(dist[j])
    a, b = np.log(dev[j]), np.log(max(dev[j + 1], 1e-300))
    f = (a - np.log(level)) / (a - b)
    return float(dist[j] + f * (dist[j + 1] - dist[j]))


def interface_sides(p):
    """[(interface index, face index, left cells, right cells)] for every internal boundary."""
    m = p.mesh
    out = []
    K = len(m.layer_faces) - 1
    for i in range(1, K):
        f = m.layer_faces[i]
        a0, a1 = m.layer_faces[i - 1], f            # left layer cells [a0, a1)
        b0, b1 = f, m.layer_faces[i + 1]
        left_start = a0 if i - 1 == 0 else (a0 + a1) // 2
        right_end = b1 if i + 1 == K else (b0 + b1) // 2
        out.append((i - 1, f, np.arange(left_start, a1)[::-1], np.arange(b0, right_end)))
    return out


def _charge_density(p, c):
    """rho / F = sum_s z_s c_s - c_bg per cell (mol/m^3)."""
    return np.sum(p.z[:, None] * c, axis=0) - p.c_bg


def _side_charge(rho, dx, cells):
    """Q = F sum_k rho_k dx_k over the side's cells (C/m^2)."""
    return float(FARADAY * np.sum(rho[cells] * dx[cells]))


def first_interface_left_charge(p, psi, c):
    """(Q of the left side of the first interface (C/m^2), contact potential (V)): the two numbers
    of a differential capacitance, equal to `evaluate`'s, without the rest of it.  Q is NaN
    without an interface."""
    sides = interface_sides(p)
    q = _side_charge(_charge_density(p, c), p.mesh.widths, sides[0][2]) if sides else np.nan
    phi = psi * p.thermal_voltage
    return q, float(phi[0] - phi[-1])


def evaluate(p, psi, c, w=None):
    """Dict of observables (SI) for state (psi, c); w: logit(theta) of the state, if known."""
    V_T = p.thermal_voltage
    phi = psi * V_T
    x, xf, dx = p.mesh.centers, p.mesh.faces, p.mesh.widths
    rho = _charge_density(p, c)
    sigma = conductivity(p, c, w=w)
    sigma_b = bulk_conductivity(p)
    res = {"interfaces": [], "contact_potential": float(phi[0] - phi[-1])}
    total_asr = 0.0
    for i, f, left, right in interface_sides(p):
        xi = xf[f]
        K, L = f - 1, f
        wK, wL = p.eps_r[K] / (xi - x[K]), p.eps_r[L] / (x[L] - xi)
        phi_i = (wK * phi[K] + wL * phi[L]) / (wK + wL)
        entry = {"name": f"{p.layer_names[p.mesh.layer_of_cell[K]]}|{p.layer_names[p.mesh.layer_of_cell[L]]}",
                 "position": float(xi), "potential": float(phi_i)}
        for side, cells in (("left", left), ("right", right)):
            far = cells[-1]
            q = _side_charge(rho, dx, cells)
            dist = np.abs(x[cells] - xi)
            dev = _deviation(p, c, cells)
            if dev is not None:
                t1 = _threshold_distance(dist, dev, 0.01)
                r, why = excess_resistance(p, c, sigma, sigma_b, cells, w)
            else:
                t1, r, why = np.nan, 0.0, ""
            weight = np.abs(rho[cells]) * dx[cells]
            tm = float(np.sum(dist * weight) / np.sum(weight)) if np.sum(weight) > 0 else 0.0
            entry[side] = {"potential_drop": float(phi_i - phi[far]), "charge": float(q),
                           "thickness_1pct": t1, "thickness_moment": tm, "excess_resistance": r, "excess_resistance_reason": why}
            total_asr += r
        res["interfaces"].append(entry)
    res["total_excess_resistance"] = total_asr
    # the bulk resistance of the layers between the outer two (a buffer's own resistance, which the
    # excess resistances do not hold), and with it the total resistance the interfaces add
    first = p.mesh.layer_faces[:-1]
    inner = sum(float(np.sum(dx[p.mesh.layer_of_cell == k])) / float(sigma_b[first[k]])
                for k in range(1, len(first) - 1) if sigma_b[first[k]] > 0)
    res["interlayer_bulk_resistance"] = inner
    res["total_interfacial_resistance"] = total_asr + inner
    if np.isfinite(p.psi_bc[0]) and len(p.layer_names) == 1:
        res["surface"] = _surface(p, psi, c, rho, sigma, sigma_b, w)
    # field at the outer faces: should vanish for a bulk end
    res["end_fields"] = [float((phi[0] - (p.psi_bc[0] * V_T if np.isfinite(p.psi_bc[0]) else phi[0])) / (dx[0] / 2)),
                         float(((p.psi_bc[1] * V_T if np.isfinite(p.psi_bc[1]) else phi[-1]) - phi[-1]) / (dx[-1] / 2))]
    return res


def _surface(p, psi, c, rho, sigma, sigma_b, w=None):
    """One-sided double layer at x = 0: charges, capacitance, widths and R_SCL."""
    V_T = p.thermal_voltage
    x, dx = p.mesh.centers, p.mesh.widths
    q = FARADAY * float(np.sum(rho * dx))
    phi0 = float(p.psi_bc[1] - p.psi_bc[0]) * V_T
    cells = np.arange(p.n)
    dev = _deviation(p, c, cells)
    # saturated width: where the space-charge density falls to half its surface value (the edge of
    # the saturated layer of Swift & Qi's two-region picture)
    x_half = np.nan
    if rho[0] != 0:
        frac = rho / rho[0]
        j = np.flatnonzero(frac > 0.5)[-1]
        if j + 1 < p.n:
            f = (frac[j] - 0.5) / (frac[j] - frac[j + 1])
            x_half = float(x[j] + f * (x[j + 1] - x[j]))
    r, why = excess_resistance(p, c, sigma, sigma_b, np.arange(p.n), w)
    return {"bulk_potential": phi0, "scl_charge": q, "electrode_charge": -q,
            "integral_capacitance": abs(q / phi0) if phi0 else np.nan,
            "saturated_width": x_half, "thickness_1pct": _threshold_distance(x, dev, 0.01) if dev is not None else np.nan,
            "excess_resistance": r, "excess_resistance_reason": why, "length": float(p.mesh.faces[-1])}


def inventory(p, c):
    """Amount of each species per area (mol/m^2)."""
    return np.sum(c * p.mesh.widths, axis=1)


def mesh_report(p):
    """Cells per layer, smallest/largest cell, Debye length per layer, and resolution warnings."""
    lam = p.debye_length()
    dx = p.mesh.widths
    rows, warnings = [], []
    for k, name in enumerate(p.layer_names):
        cells = p.mesh.layer_of_cell == k
        lk = float(np.min(lam[cells]))
        thick = float(np.sum(dx[cells]))
        row = dict(layer=name, cells=int(cells.sum()), h_min=float(dx[cells].min()), h_max=float(dx[cells].max()),
                   debye_length=lk, thickness=thick)
        rows.append(row)
        if thick < 10 * lk:
            warnings.append(f"layer '{name}' is {thick / lk:.1f} screening lengths thick (< 10): "
                            "its space-charge layers overlap")
        if row["h_min"] > lk / 5:
            warnings.append(f"layer '{name}': smallest cell {row['h_min']:.3g} m does not resolve the "
                            f"screening length {lk:.3g} m (want h_min <= lambda/5)")
    return rows, warnings


def eta_li(p, psi, c, s):
    """eta / kT of species s in every cell (NaN where absent)."""
    cm = np.where(p.present[s], p.c_max[s], 1.0)
    th = np.clip(np.where(p.present[s], c[s] / cm, 0.5), 1e-300, 1 - 1e-16)
    return np.where(p.present[s], p.mu0[s] + laws.logit(th) + p.z[s] * psi, np.nan)


def overpotential(p, psi, c):
    """(eta_Li(cell 0) - eta_Li(reservoir at x = L)) / e  (V); zero at equilibrium."""
    s = li_index(p)
    eta0 = p.mu0[s, 0] + laws.logit(c[s, 0] / p.c_max[s, 0]) + p.z[s] * psi[0]
    eta_res = p.mu0[s, -1] + laws.logit(p.c_bc[1, s] / p.c_max[s, -1]) + p.z[s] * p.psi_bc[1]
    return float((eta0 - eta_res) * p.thermal_voltage)


def voltage_breakdown(p, psi, c, current_A_m2):
    """Split the Li+ electrochemical-potential drop across the stack (V) into parts.

    total          = (eta(cell 0) - eta(reservoir at x = L)) / e
    side           = eta drop across each SCL side region (the half-layers of `interface_sides`)
    kinetic        = eta jump across each interface face (Butler-Volmer, or the ideal scheme's
                     tiny face resistance)
    ohmic          = J sum_k dx_k / sigma_k over the side's cells, sigma the conductivity of every ionic
                     carrier in the present state (with the Frenkel pair in local equilibrium both
                     carriers carry the Li+ current: j = -(sigma_i + sigma_v) grad(eta_Li) / e)
    scl_excess     = ohmic - J L_side / sigma_bulk: the space-charge excess resistance at this state
                     times the current
    concentration  = side - ohmic: the diffusion (concentration) polarization of the side
    scl            = side - J L_side / sigma_bulk = scl_excess + concentration
    bulk           = sum J L_side / sigma_bulk + what lies outside the side regions
    so that total = bulk + sum(scl) + sum(kinetic) exactly.
    """
    s = li_index(p)
    V_T = p.thermal_voltage
    eta = eta_li(p, psi, c, s)
    total = overpotential(p, psi, c)
    sigma = conductivity(p, c)
    sigma_b = bulk_conductivity(p)
    x, dx = p.mesh.centers, p.mesh.widths
    out = {"total": float(total), "interfaces": []}
    accounted, ohmic_bulk = 0.0, 0.0
    for i, f, left, right in interface_sides(p):
        entry = {"kinetic": float((eta[f - 1] - eta[f]) * V_T)}
        accounted += entry["kinetic"]
        for side, cells in (("left", left), ("right", right)):
            near, far = cells[0], cells[-1]
            drop = (eta[far] - eta[near]) if side == "left" else (eta[near] - eta[far])
            drop *= V_T
            length = abs(x[near] - x[far])
            bulk = current_A_m2 * length / sigma_b[near] if sigma_b[near] > 0 else 0.0
            # the cells between the two centres (half of each end cell), as the drop between them
            w = dx[cells].copy()
            w[0] *= 0.5
            w[-1] *= 0.5
            with np.errstate(divide="ignore"):
                ohmic = current_A_m2 * float(np.sum(w / sigma[cells])) if sigma_b[near] > 0 else 0.0
            entry[side] = float(drop - bulk)
            entry[side + "_excess"] = float(ohmic - bulk)
            entry[side + "_concentration"] = float(drop - ohmic)
            accounted += drop
            ohmic_bulk += bulk
        out["interfaces"].append(entry)
    out["bulk_ohmic"] = float(ohmic_bulk + (total - accounted))
    return out
