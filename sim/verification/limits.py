"""Validation figures for docs/validation.md: `python -m sim.verification.limits [OUT_DIR]`.

1. SCL charge against the interface potential: numerical vs the Gouy-Chapman and lattice-
   saturated first integrals (docs/theory.md), with the relative error.
2. Mesh refinement: error against the smallest cell for nested bisection, with a slope-2 guide.
3. Mott-Schottky: 1/C^2 against the interface potential, numerical and analytic.
Prints a table of the measured errors.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.pnp.analytic import gouy_chapman_charge, mott_schottky_inverse_c2, saturated_charge
from sim.pnp.reference_problems import one_sided_layer
from sim.pnp.newton import solve_equilibrium
from sim.units import FARADAY, thermal_voltage
from sim.figures.style import PALETTE, TWO_COLUMN_IN, label, save, use_style
from sim.pnp.analytic import debye_length

T, EPS, C0 = 298.15, 9.0, 3.1e3
#: the tests (tests/test_pnp.py) hold the dilute first integral to 1e-6 for accumulation down to -4 kT/e
TESTED_ACCUMULATION = 4.0


def _charge(p, c):
    return abs(FARADAY * np.sum((np.sum(p.z[:, None] * c, axis=0) - p.c_bg) * p.mesh.widths))


def converged_mesh():
    return one_sided_layer(1.0, h_min_debye=0.02, h_max_debye=0.5, growth=1.1).mesh.refined(64)


def charge_curves(psi0s, c_sites=None):
    mesh = converged_mesh()
    q = np.array([_charge(p, solve_equilibrium(p)[1]) for p in
                  (one_sided_layer(x, c_sites=c_sites, mesh=mesh) for x in psi0s)])
    exact = (gouy_chapman_charge(psi0s, EPS, C0, T) if c_sites is None
             else saturated_charge(psi0s, EPS, C0, c_sites, T))
    return q, exact


def refinement(psi0=2.0, levels=(1, 2, 4, 8, 16, 32)):
    base = one_sided_layer(psi0, h_min_debye=0.02, h_max_debye=0.5, growth=1.1).mesh
    exact = gouy_chapman_charge(psi0, EPS, C0, T)
    h, err = [], []
    for f in levels:
        p = one_sided_layer(psi0, mesh=base.refined(f))
        h.append(p.mesh.widths.max())
        err.append(abs(_charge(p, solve_equilibrium(p)[1]) / exact - 1))
    return np.array(h), np.array(err)


def main(out_dir="docs/figures"):
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lam = debye_length(EPS, C0, T)
    psi0s = np.concatenate([-np.logspace(1, -2, 13), np.logspace(-2, np.log10(60), 19)])
    with use_style():
        fig, axes = plt.subplots(1, 2, figsize=(TWO_COLUMN_IN, 3.6))
        rows = []
        for i, (cs, name) in enumerate(((None, "dilute (Gouy-Chapman)"), (4 * C0, "saturated, c0/cs = 0.25"))):
            sel = psi0s if cs is not None else psi0s[psi0s > -6]
            q, ex = charge_curves(sel, cs)
            err = np.abs(q / ex - 1)
            axes[0].loglog(np.abs(sel[sel < 0]), ex[sel < 0], color=PALETTE[i], ls="--", lw=0.8)
            axes[0].loglog(np.abs(sel[sel < 0]), q[sel < 0], "v", color=PALETTE[i], ms=3, label=f"{name}, accumulation")
            axes[0].loglog(sel[sel > 0], q[sel > 0], "^", color=PALETTE[i], ms=3, mfc="none", label=f"{name}, depletion")
            axes[0].loglog(sel[sel > 0], ex[sel > 0], color=PALETTE[i], lw=0.8)
            tested = sel >= (-TESTED_ACCUMULATION if cs is None else -np.inf)
            axes[1].semilogx(np.abs(sel[tested]), err[tested], "o", color=PALETTE[i], ms=3, label=name)
            if (~tested).any():
                axes[1].semilogx(np.abs(sel[~tested]), err[~tested], "o", mfc="none", color=PALETTE[i], ms=3,
                                 label=f"{name}, accumulation beyond {TESTED_ACCUMULATION:g} k$_B$T/e (not tested)")
            rows.append((name, float(err.max())))
        axes[0].set_xlabel("|interface potential| (k$_B$T/e)")
        axes[0].set_ylabel(label("SCL charge", "C/m^2"))
        axes[0].set_title("markers: this code; lines: first integrals", fontsize=7)
        axes[1].axhline(1e-6, color="0.5", ls=":", lw=0.8, label="tolerance of the tests, 10$^{-6}$")
        axes[1].set_yscale("log")
        axes[1].set_xlabel("|interface potential| (k$_B$T/e)")
        axes[1].set_ylabel("relative error")
        axes[1].legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.22))
        axes[0].legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=1)
        save(fig, out, "validation_first_integral", ("png",))

        h, err = refinement()
        fig, ax = plt.subplots()
        ax.loglog(h / lam, err, "o-", label="SCL charge, ψ$_0$ = 2 k$_B$T/e")
        ax.loglog(h / lam, err[0] * (h / h[0]) ** 2, "k--", lw=0.8, label="slope 2")
        ax.set_xlabel("largest cell / Debye length")
        ax.set_ylabel("relative error of the SCL charge")
        ticks = [t for t in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0) if h.min() / lam <= t <= h.max() / lam]
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])          # plain labels, one per tick: none overprint
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.legend()
        save(fig, out, "validation_mesh_refinement", ("png",))
        orders = np.log2(err[:-1] / err[1:])

        V_T = thermal_voltage(T)
        psi = np.linspace(10, 40, 7)
        mesh = converged_mesh()
        inv_c2 = []
        for x in psi:
            qs = [_charge(p, solve_equilibrium(p)[1]) for p in (one_sided_layer(x - 0.01, mesh=mesh), one_sided_layer(x + 0.01, mesh=mesh))]
            inv_c2.append(1 / ((qs[1] - qs[0]) / (0.02 * V_T)) ** 2)
        inv_c2 = np.array(inv_c2)
        exact = mott_schottky_inverse_c2(psi * V_T, EPS, C0, T)
        fig, ax = plt.subplots()
        ax.plot(psi * V_T, exact, "k-", lw=0.8, label="Mott-Schottky")
        ax.plot(psi * V_T, inv_c2, "o", ms=3, label="numerical")
        ax.set_xlabel(label("interface potential", "V"))
        ax.set_ylabel(label("1/C²", "m^4/F^2"))
        ax.legend()
        save(fig, out, "validation_mott_schottky", ("png",))
    print("| check | max relative error |\n|---|---|")
    for name, e in rows:
        print(f"| first integral, {name} | {e:.2e} |")
    print(f"| Mott-Schottky 1/C^2, psi0 = 10-40 | {np.max(np.abs(inv_c2 / exact - 1)):.2e} |")
    print("| mesh refinement orders | " + ", ".join(f"{o:.2f}" for o in orders) + " |")


def cli(argv=None, default_out="docs/figures", doc=__doc__):
    """`python -m sim.verification.limits* [OUT_DIR]` with --help; never a directory called --help."""
    import argparse
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("out_dir", nargs="?", default=default_out, help=f"folder for the figures (default: {default_out})")
    return ap.parse_args(argv).out_dir


if __name__ == "__main__":
    main(cli())
