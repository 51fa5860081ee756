"""Case kind `fit`: keys of an impedance case fitted to measured spectra (schema, setup, model, optimize,
runner, figures; `synthetic` writes the synthetic spectra of the shipped examples)."""
from sim.kinds.fit.runner import run
from sim.kinds.fit.schema import SCHEMA, check


def render(result, out_dir, formats):
    """Figures of a result (matplotlib is imported here, on first use: runs do not pay for it)."""
    from sim.kinds.fit import figures
    return figures.render(result, out_dir, formats)


def compare(results, out_dir, formats):
    return []


def check_rerun(result, case):
    """`sim run --from`: the data files must be the bytes the result was fitted to (their sha256, stored in
    fit/data_file); a changed or missing file is a SimError, never a silent fit to other data."""
    import hashlib
    from pathlib import Path
    from sim import inputs
    from sim.errors import SimError
    if "fit/data_file" not in result:
        return
    names = [str(n) for n in __import__("numpy").atleast_1d(result.value("fit/data_file"))]
    digests = str(result["fit/data_file"].attrs.get("sha256", "")).split()
    for name, digest in zip(names, digests):
        path = Path(case.path).parent / name
        try:
            now = hashlib.sha256(inputs.read_bytes(path, "csv", lambda why: SimError(why))).hexdigest()
        except SimError as e:
            raise SimError(f"{result.path}: the data file {path} it was fitted to cannot be read now ({e}); "
                           "--from would not reproduce the result") from None
        if now != digest:
            raise SimError(f"{result.path}: the data file {path} changed since the result was written (sha256 "
                           f"{digest[:12]}... then, {now[:12]}... now); --from would fit other data. Run the case "
                           "file itself to fit the new data")


__all__ = ["SCHEMA", "check", "check_rerun", "compare", "render", "run"]
