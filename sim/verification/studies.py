"""The study figures of docs/validation.md, drawn from the shipped cases by the code `make demo` uses:
`python -m sim.verification.studies [OUT_DIR]`.

Runs cases/design_map.toml, the two impedance cases, the two fit cases and the two sweeps of cases/sweeps/
(in a temporary folder), draws the seven figures the page shows with the figure functions of `sim demo`
and keeps them under the names the page uses.  Prints the time each run took.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from sim.case import load_case
from sim.figures import pool
from sim.figures.style import use_style
from sim.io import read_result
from sim.kinds.design_map import figures as design_map_figures
from sim.kinds.fit import figures as fit_figures
from sim.kinds.pnp import impedance_figures
from sim.run import run_case
from sim.studies import figures as sweep_figures, run_sweep

ROOT = Path(__file__).resolve().parents[2]          # the repository: cases/ lives beside sim/
#: docs/figures name <- (run, figure it draws)
FIGURES = {
    "design_map_specific_energy.png": ("design_map", "design_map_specific_energy.png"),
    "impedance_nyquist_lco_lno_lps.png": ("lco_lno_lps_impedance", "impedance_nyquist.png"),
    "compare_impedance_arrhenius.png": ("comparison", "compare_impedance_arrhenius.png"),
    "sweep_asr_eps_mu0.png": ("lps_permittivity_mu0", "sweep_map_observables_total_excess_resistance.png"),
    "sweep_lno_thickness.png": ("lno_thickness", "sweep_lines.png"),
    "fit_blocking_cell.png": ("fit_blocking_cell", "fit_spectrum.png"),
    "fit_lco_lps.png": ("fit_lco_lps", "fit_spectrum.png"),
}
CASES = ["design_map.toml", "lco_lno_lps_impedance.toml", "lco_lps_impedance.toml", "fit_blocking_cell.toml",
         "fit_lco_lps.toml"]
SWEEPS = ["lno_thickness.toml", "lps_permittivity_mu0.toml"]


def main(out_dir="docs/figures"):
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        files = {}
        for name in CASES:
            t0 = time.perf_counter()
            files[Path(name).stem] = run_case(load_case(ROOT / "cases" / name), tmp / name.replace(".toml", ".h5"))
            print(f"{name}: {time.perf_counter() - t0:.1f} s")
        for name in SWEEPS:
            t0 = time.perf_counter()
            files[Path(name).stem] = tmp / name.replace(".toml", ".h5")
            run_sweep(ROOT / "cases" / "sweeps" / name, files[Path(name).stem], executor="auto", progress=False)
            print(f"sweeps/{name}: {time.perf_counter() - t0:.1f} s")
        with use_style(), pool.parallel():        # only the seven figures the page shows
            results = {stem: read_result(h5) for stem, h5 in files.items()}
            drawn = {"design_map": design_map_figures.render(results["design_map"], tmp, ("png",)),
                     "lco_lno_lps_impedance": impedance_figures.nyquist(results["lco_lno_lps_impedance"], tmp, ("png",)),
                     "comparison": impedance_figures.compare([results["lco_lno_lps_impedance"],
                                                              results["lco_lps_impedance"]], tmp, ("png",))}
            for stem in ("fit_blocking_cell", "fit_lco_lps"):
                (tmp / stem).mkdir()
                drawn[stem] = fit_figures.render(results[stem], tmp / stem, ("png",))
            for stem in ("lno_thickness", "lps_permittivity_mu0"):
                (tmp / stem).mkdir()
                drawn[stem] = sweep_figures.render(results[stem], tmp / stem, ("png",))
            pool.wait()                    # inside `python -m sim.verification all` the workers write them
        for target, (run, figure) in FIGURES.items():
            source = next(p for p in drawn[run] if Path(p).name == figure)
            shutil.copyfile(source, out / target)


if __name__ == "__main__":
    from sim.verification.limits import cli
    main(cli(doc=__doc__))
