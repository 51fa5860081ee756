"""Validation of the defect-chemistry model for docs/validation.md:
`python -m sim.verification.defects [OUT_DIR]`.

1. Swift-Qi Li | LLZO double layer: computed potential profile against the two-region
   approximation of Swift, Swift & Qi (2021), and the charge against the exact first integral.
2. Total excess resistance, and R_SCL and SCL thickness of the sulfide side, against the cathode potential, LCO | LPS and
   LCO | LNO | LPS, from the shipped cases.
3. Sensitivity of the total excess resistance at 4.2 V to each uncertain parameter (tornado).
4. The excess resistances under each mobility law of the vacancies (a table, printed).
Prints the numbers the page quotes.
"""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np

from sim.case import load_case
from sim.pnp import analytic as an
from sim.pnp import observables as obs
from sim.kinds.pnp.runner import solve
from sim.units import SI, thermal_voltage
from sim.figures.style import EXCESS_R, NEGATIVE_EXCESS, PALETTE, label, save, sci, use_style, value_scale

ROOT = Path(__file__).resolve().parents[2]          # the repository: cases/ lives beside sim/
#: (label, material, case key path, low, high): uncertain inputs of the LCO | LPS case
SENSITIVITY = [     # the ranges of the materials database (`sim materials`), the cathode split 0 ... 1
    ("Li$^+$ level of LCO, −0.6 … −0.1 eV", ("materials", "LCO", "mu0_li_eV"), -0.6, -0.1),
    ("Frenkel energy of LCO, 0 … 0.5 eV", ("materials", "LCO", "frenkel_energy_eV"), 0.0, 0.5),
    ("Li diffusivity of LCO, 10⁻¹³ … 10⁻⁸ cm²/s", ("materials", "LCO", "li_diffusivity_cm2_s"), 1e-13, 1e-8),
    ("Frenkel energy of LPS, 0 … 0.3 eV", ("materials", "LPS", "frenkel_energy_eV"), 0.0, 0.3),
    ("saturation α of LPS, 0.05 … 1", ("materials", "LPS", "saturation_alpha"), 0.05, 1.0),
    ("σ of LPS, 1×10⁻⁴ … 4×10⁻⁴ S/cm", ("materials", "LPS", "conductivity_S_cm"), 1e-4, 4e-4),
    ("ε$_r$ of LPS, 7 … 12", ("materials", "LPS", "eps_r"), 7.0, 12.0),
    ("D(V$_{Li}'$)/D(Li$_i^\\bullet$) of LPS, 0.1 … 10", ("materials", "LPS", "vacancy_diffusivity_ratio"), 0.1, 10.0),
    ("ionic share of −eΔU, lattice gas … all", ("cathode", "ionic_fraction"), None, 1.0),
]


def _params(name):
    return load_case(ROOT / "cases" / name).params


def sse_side(params, U):
    """(R_SCL of the sulfide side (ohm cm^2), 1 % thickness (m), potential drop (V), total excess
    resistance of every side (ohm cm^2)) at U."""
    p, psi, c, st = solve(params, U)
    ev = obs.evaluate(p, psi, c, w=st.w)
    side = ev["interfaces"][-1]["right"]
    return (side["excess_resistance"] / SI["ohm cm^2"], side["thickness_1pct"], side["potential_drop"],
            ev["total_excess_resistance"] / SI["ohm cm^2"])


def _set(params, path, value):
    q = copy.deepcopy(params)
    d = q
    for k in path[:-1]:
        d = d.setdefault(k, {})
    d[path[-1]] = value
    return q


#: mobility laws compared on the vacancies V_Li' of every layer (docs/theory.md, "Mobility laws")
VACANCY_LAWS = ("vacancy_hop", "size_exclusion", "unscaled")


def with_vacancy_law(params, law):
    """`params` with mobility law `law` on the vacancies V_Li' of every layer (the interstitials keep theirs)."""
    q = copy.deepcopy(params)
    for layer in q["layers"].values():
        layer.setdefault("species", {}).setdefault("V_Li", {})["mobility"] = law
    return q


def side_table(cases=("lco_lps.toml", "lco_lno_lps.toml"), potentials=(3.88, 4.2, 4.4)):
    """Print every interface side (potential drop (V), excess resistance (ohm cm^2), 1 % thickness (nm)) and the
    totals of each case at each potential: the numbers of docs/validation.md's defect-model table."""
    for name in cases:
        prm = _params(name)
        for U in potentials:
            p, psi, c, st = solve(prm, U)
            ev = obs.evaluate(p, psi, c, w=st.w)
            sides = []
            for i in ev["interfaces"]:
                for side in ("left", "right"):
                    d = i[side]
                    sides.append(f"{i['name']} {side}: {d['potential_drop']:+.3f} V, {d['excess_resistance'] / SI['ohm cm^2']:+.3g}, "
                                 f"{d['thickness_1pct'] * 1e9:.3f} nm")
            print(f"  {name:18s} {U:.2f} V | " + " | ".join(sides) + f" | total excess "
                  f"{ev['total_excess_resistance'] / SI['ohm cm^2']:.3g}, total interfacial "
                  f"{ev['total_interfacial_resistance'] / SI['ohm cm^2']:.3g} ohm cm^2")


def mobility_law_table(cases=("lco_lps.toml", "lco_lno_lps.toml"), potentials=(3.88, 4.2, 4.4)):
    """[(case, law, U, excess resistance of the LPS side, total excess, total interfacial) (ohm cm^2)]."""
    rows = []
    for name in cases:
        base = _params(name)
        for law in VACANCY_LAWS:
            prm = with_vacancy_law(base, law)
            for U in potentials:
                p, psi, c, st = solve(prm, U)
                ev = obs.evaluate(p, psi, c, w=st.w)
                rows.append((name, law, U, ev["interfaces"][-1]["right"]["excess_resistance"] / SI["ohm cm^2"],
                             ev["total_excess_resistance"] / SI["ohm cm^2"],
                             ev["total_interfacial_resistance"] / SI["ohm cm^2"]))
    return rows


def sensitivity(U=4.2):
    """(default, [(input, total excess resistance at the low end, at the high end)]) (ohm cm^2), LCO | LPS at U."""
    base = _params("lco_lps.toml")
    r0 = sse_side(base, U)[3]
    rows = []
    for name, path, lo, hi in SENSITIVITY:
        vals = [r0 if v is None else sse_side(_set(base, path, v), U)[3] for v in (lo, hi)]
        rows.append((name, vals[0], vals[1]))
    return r0, rows


def swift_qi():
    params = load_case(ROOT / "cases" / "verification" / "swift_qi_llzo.toml").params
    p, psi, c, st = solve(params)
    surf = obs.evaluate(p, psi, c, w=st.w)["surface"]
    return params, p, psi, surf


def main(out_dir="docs/figures"):
    import matplotlib.pyplot as plt
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with use_style():
        # 1. Swift-Qi profile
        params, p, psi, surf = swift_qi()
        fr, T = params["layers"]["LLZO"]["frenkel"], params["temperature_K"]
        V_T = thermal_voltage(T)
        N = fr["site_density_cm3"] * 1e6 / 6.02214076e23
        phi0 = params["surface"]["bulk_potential_V"]
        args = (phi0, N, fr["formation_energy_eV"], params["layers"]["LLZO"]["eps_r"], fr["saturation_alpha"], T)
        x1 = an.frenkel_saturated_width(*args)
        lam = an.saturated_screening_length(args[3], N, args[4], T)
        B = an.frenkel_b(args[2], args[4], T)
        xi = np.linspace(0, 4 * x1, 400) / lam
        f0, fp0 = phi0 / V_T, -x1 / lam
        two = np.where(xi <= -fp0, f0 + fp0 * xi + 0.5 * xi ** 2,
                       4 * np.arctanh(np.minimum(np.exp(-np.sqrt(2 / B) * (xi - (-fp0 - np.sqrt(2)))), 1 - 1e-16)))
        x = p.mesh.centers
        fig, ax = plt.subplots()
        ax.plot(x * 1e10, psi * V_T + phi0, color=PALETTE[0], label="this code (Frenkel PNP)")
        ax.plot(xi * lam * 1e10, phi0 - two * V_T, "--", color=PALETTE[1], label="Swift & Qi two-region approx.")
        ax.axvline(x1 * 1e10, color="0.5", lw=0.6, ls=":")
        ax.text(x1 * 1e10, 0.9, f" x$_1$ = {x1 * 1e10:.2f} Å (two-region width)", fontsize=7, color="0.3")
        ax.set_xlim(0, 4 * x1 * 1e10)
        ax.set_xlabel(label("distance from the Li surface", "Å"))
        ax.set_ylabel(label("electrostatic potential φ − φ(surface)", "V"))
        ax.set_title("Li | LLZO (Swift, Swift & Qi 2021)")
        ax.legend(loc="lower right", bbox_to_anchor=(1.0, 0.08))
        save(fig, out, "validation_swift_qi_llzo", ("png",))
        print(f"Swift-Qi: Q = {surf['scl_charge']:.6g} C/m^2 = {surf['scl_charge'] / 1.602176634e-19 / 1e18:.5f} e/nm^2, "
              f"C = {surf['integral_capacitance'] * 100:.5f} uF/cm^2, width = {surf['saturated_width'] * 1e10:.3f} A "
              f"(two-region {x1 * 1e10:.4f} A)")
        # 2. R_SCL against U
        U = np.linspace(3.88, 4.4, 14)
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(6.85, 3.0))
        for (name, title), col in zip((("lco_lps.toml", "LCO | LPS"), ("lco_lno_lps.toml", "LCO | LNO (5 nm) | LPS")), PALETTE):
            prm = _params(name)
            res = np.array([sse_side(prm, u) for u in U])
            a1.plot(U, res[:, 3], "o-", ms=3, color=col, label=f"{title}, all sides: {sci(res[:, 3].min())} … {sci(res[:, 3].max())} Ω cm²")
            a1.plot(U, res[:, 0], "s--", ms=2.5, color=col, label=f"{title}, LPS side: {sci(res[:, 0].min())} … {sci(res[:, 0].max())} Ω cm²")
            a2.plot(U, res[:, 1] * 1e9, "o-", ms=3, color=col, label=title)
            print(f"{title}: total excess {res[0, 3]:.3g} .. {res[-1, 3]:.3g}, LPS side {res[0, 0]:.3g} .. {res[-1, 0]:.3g} ohm cm^2, "
                  f"1% thickness {res[0, 1] * 1e9:.3f} .. {res[-1, 1] * 1e9:.3f} nm, drop {res[0, 2]:.3f} .. {res[-1, 2]:.3f} V")
        a1.axhline(0, color="0.6", lw=0.5)
        a1.set_xlabel(label("cathode potential vs Li/Li$^+$", "V"))
        a1.set_ylabel(label(EXCESS_R, "Ω cm²"))
        a1.set_title(NEGATIVE_EXCESS, fontsize=7)
        a2.set_xlabel(label("cathode potential vs Li/Li$^+$", "V"))
        a2.set_ylabel(label("SCL thickness in LPS (1 %)", "nm"))
        a1.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.22))
        save(fig, out, "validation_rscl_vs_potential", ("png",))
        # 3. tornado
        r0, rows = sensitivity()
        rows.sort(key=lambda r: abs(np.log10(max(r[2], 1e-12) / max(r[1], 1e-12))))
        fig, ax = plt.subplots(figsize=(6.85, 2.8))
        for i, (name, lo, hi) in enumerate(rows):
            ax.plot([lo, hi], [i, i], color="0.7", lw=4, solid_capstyle="butt")
            ax.plot(lo, i, "o", color=PALETTE[0], ms=4, label="low end" if i == 0 else None)
            ax.plot(hi, i, "s", color=PALETTE[1], ms=4, label="high end" if i == 0 else None)
        ax.axvline(r0, color="k", lw=0.8, label=f"default: {r0:.2g} Ω cm²")
        ax.set_yticks(range(len(rows)), [r[0] for r in rows])
        vals = np.array([[r[1], r[2]] for r in rows])
        note = value_scale(ax, vals, "x", "Ω cm²", floor_decades=9)    # some ends are negative: accumulation conducts better than bulk
        ax.set_xmargin(0.04)                          # the end markers inside the frame, not cut by it
        ax.set_ylim(-0.6, len(rows) - 0.4)
        ax.set_xlabel(label(f"total {EXCESS_R} at 4.2 V, LCO | LPS", "Ω cm²"))
        ax.set_title("; ".join(n for n in (NEGATIVE_EXCESS, note) if n), fontsize=7)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
        save(fig, out, "validation_rscl_sensitivity", ("png",))
        print(f"sensitivity at 4.2 V (default {r0:.3g} ohm cm^2):")
        for name, lo, hi in rows:
            print(f"  {name}: {lo:.3g} .. {hi:.3g}")
        print("interface sides (potential drop, excess resistance in ohm cm^2, 1 % thickness):")
        side_table()
        # 4. the vacancies' mobility law
        print("mobility law of V_Li' (case, law, U (V), LPS-side excess, total excess, total interfacial; ohm cm^2):")
        for case, law, U, r_sse, r_tot, r_int in mobility_law_table():
            print(f"  {case:18s} {law:15s} {U:.2f}  {r_sse: .3g}  {r_tot: .3g}  {r_int: .3g}")


if __name__ == "__main__":
    from sim.verification.limits import cli
    main(cli(doc=__doc__))
