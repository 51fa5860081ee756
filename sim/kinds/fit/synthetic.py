"""Synthetic spectra for fits: the model's impedance of a case plus noise, written as a spectrum CSV
(`sim.spectra`) whose header says that it is synthetic and how it was made.

    python -m sim.kinds.fit.synthetic CASE.toml -o OUT.csv [--set KEY=VALUE ...] [--temperature K]
        [--frequencies F_MIN F_MAX N] [--noise 0.003] [--seed 27]

Noise: each point's Z' and Z'' get independent normal errors of standard deviation noise |Z| (the error
model the fit's modulus weighting assumes), from numpy's default generator with the given seed.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from sim.errors import SimError


def noisy(Z, noise, seed):
    """Z with independent normal errors of standard deviation noise |Z| on its real and imaginary parts."""
    rng = np.random.default_rng(seed)
    e = rng.standard_normal((2, len(Z)))
    return Z + noise * np.abs(Z) * (e[0] + 1j * e[1])


def synthetic_spectrum(params, T, frequencies_Hz, noise, seed):
    """Z (ohm m^2) of an impedance case at T on the given frequencies, with noise (see `noisy`)."""
    from sim.kinds.fit.model import model_spectrum
    return noisy(model_spectrum(params, T, np.asarray(frequencies_Hz, float)), noise, seed)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m sim.kinds.fit.synthetic", description=__doc__.split("\n\n")[0])
    ap.add_argument("case", help="impedance case (kind = pnp with [impedance])")
    ap.add_argument("-o", "--output", required=True, help="CSV file to write")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="the true values (case keys)")
    ap.add_argument("--temperature", type=float, help="K (default: the case's first impedance temperature)")
    ap.add_argument("--frequencies", nargs=3, type=float, metavar=("F_MIN", "F_MAX", "N"),
                    help="N log-spaced frequencies (default: the case's impedance grid)")
    ap.add_argument("--noise", type=float, default=0.003, help="relative noise per component (default 0.003)")
    ap.add_argument("--seed", type=int, default=27, help="seed of the noise (default 27)")
    args = ap.parse_args(argv)
    try:
        write(args)
    except SimError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


def write(args):
    from sim import __version__
    from sim.case import load_case, parse_override
    from sim.io import git_commit
    from sim.pnp.impedance import frequencies
    from sim.spectra import to_csv
    case = load_case(args.case, [parse_override(s) for s in args.set])
    ip = case.params["impedance"]
    if case.kind != "pnp" or ip.get("temperatures_K") is None:
        raise SimError(f"{args.case}: not an impedance case (kind = \"pnp\" with [impedance] temperatures_K)")
    T = args.temperature if args.temperature is not None else ip["temperatures_K"][0]
    if args.frequencies:
        f = np.geomspace(args.frequencies[0], args.frequencies[1], int(args.frequencies[2]))
    else:
        f = frequencies(ip["frequency_min_Hz"], ip["frequency_max_Hz"], ip["points_per_decade"])
    Z = synthetic_spectrum(case.params, T, f, args.noise, args.seed)
    command = " ".join(["python -m sim.kinds.fit.synthetic", args.case, "-o", args.output]
                       + [f"--set {s}" for s in args.set] + [f"--temperature {T:g}"]
                       + ([f"--frequencies {' '.join(f'{v:g}' for v in args.frequencies)}"] if args.frequencies else [])
                       + [f"--noise {args.noise:g}", f"--seed {args.seed}"])
    header = [f"SYNTHETIC spectrum made by sim {__version__} ({git_commit() or 'no git'}), not measured:",
              f"  {command}",
              f"the model of {Path(args.case).name} at {T:g} K with " + (", ".join(args.set) if args.set else "the case's own values"),
              f"plus normal noise of {args.noise:g} |Z| on Z' and on Z'' (numpy default_rng, seed {args.seed}).",
              "Columns: f (Hz), Z' (ohm cm^2), Z'' (ohm cm^2); Z = dV/dI with e^(i omega t), Z'' < 0 for a capacitor."]
    out = Path(args.output)
    fd, tmp = tempfile.mkstemp(dir=out.parent or ".", prefix=".sim-", suffix=".csv")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(to_csv(f, Z, header))
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)                 # mkstemp's 0600 is not meant for a data file
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    print(f"wrote {out} ({len(f)} points at {T:g} K)")


if __name__ == "__main__":
    sys.exit(main())
