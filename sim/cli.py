"""Command-line interface: `python -m sim` or `sim`.

    sim run CASE.toml [-o OUT.h5]        run a case, write HDF5 (default results/<stem>.h5)
    sim validate CASE.toml ...           check case files without running them
    sim figures OUT.h5 [--format pdf,png] [--out DIR] [--style FILE]
    sim materials [--name NAME]          list the materials database with sources
    sim export OUT.h5 --csv DIR          a result or sweep file as CSV tables (units in the headers)
    sim demo [--cases DIR] [--out DIR]   run every demo case and draw its figures
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from sim.errors import SimError


def _cmd_run(args):
    from sim.case import case_from_result, load_case, parse_override
    from sim.run import run_case
    t0 = time.perf_counter()
    overrides = [parse_override(s) for s in args.set or []]
    if args.from_result:
        if args.case:
            raise SimError("give a case file or --from RESULT.h5, not both")
        case = case_from_result(args.from_result)
        from sim.io import read_result
        from sim.kinds import kind
        check_rerun = getattr(kind(case.kind), "check_rerun", None)    # inputs beside the case file, unchanged
        if check_rerun is not None:
            check_rerun(read_result(args.from_result), case)
        if overrides:
            from sim.case import apply_overrides, parse_case_text, validate_document
            overrides = case.overrides + overrides
            doc = apply_overrides(parse_case_text(case.text, case.path), overrides)
            case.kind, case.params = validate_document(doc, case.path)
            case.overrides = overrides
        out = run_case(case, args.output or str(Path(args.from_result).with_name(Path(args.from_result).stem + "_rerun.h5")),
                       inputs=(args.from_result,))
    elif args.case:
        out = run_case(load_case(args.case, overrides), args.output)
    else:
        raise SimError("give a case file (or --from RESULT.h5)")
    print(f"wrote {out} ({time.perf_counter() - t0:.2f} s)")
    from sim import highlights
    from sim.io import read_result
    for line in highlights.lines(read_result(out)):        # read back: what the file holds, verified
        print(line)
    if args.figures:
        from sim.figures import render_all
        for p in render_all(out):
            print(f"  figure {p}")
    return 0


def _cmd_validate(args):
    from sim.case import load_case, parse_case_text, read_case_text
    for path in args.case:
        doc = parse_case_text(read_case_text(path), path)
        if isinstance(doc, dict) and "base" in doc and "kind" not in doc:      # a sweep file
            from sim.studies import load_sweep
            sweep = load_sweep(path)
            print(f"{path}: ok (sweep of {sweep.n} cases of {sweep.base_path.name}, all valid)")
        else:
            from sim.case import plausibility
            case = load_case(path)
            print(f"{path}: ok (kind = {case.kind})")
            for note in plausibility(case.params):
                print(f"warning: {path}: {note}", file=sys.stderr)
    return 0


def _cmd_figures(args):
    from sim import inputs
    from sim.api import figure_formats
    from sim.figures import render_all, render_comparison
    formats = figure_formats(args.format, "--format")
    if args.style:                                  # a regular UTF-8 file of bounded size, before any result is read
        inputs.read_text(args.style, "style", lambda why: SimError(
            f"--style: {args.style}: {'no such style file' if why == 'no such file' else why}"))
    paths = []
    for result in args.result:
        out = Path(args.out) / Path(result).stem if (args.out and len(args.result) > 1) else args.out
        paths += render_all(result, out, formats, args.style)
    if len(args.result) > 1:
        paths += render_comparison(args.result, Path(args.out or "results") / "comparison", formats, args.style)
    for p in paths:
        print(p)
    if not paths:
        print(f"{' '.join(args.result)}: no figure applies", file=sys.stderr)
    return 0


def _cmd_materials(args):
    from sim.materials import carrier_model_of, cited_keys, material_sources, source_citations
    rows = [r for r in material_sources() if args.name in (None, r.material)]
    if not rows:
        from sim.materials import material_names
        from sim.schema import suggest
        print(f"error: no material named {args.name!r}{suggest(args.name, material_names())}", file=sys.stderr)
        return 2
    current = None
    for r in rows:
        if r.material != current:
            model = carrier_model_of(r.material)
            print(f"\n{r.material}" + (f"  (carriers = {model})" if model else ""))
            current = r.material
        if r.value == "table":
            shown = f"table of {r.si} {r.si_unit} ({r.unit})"
        else:
            shown = f"{r.value:<10g} {r.unit:9s} ({r.si:.4g} {r.si_unit})"
        rng = f"  range [{r.range[0]:g}, {r.range[1]:g}] {r.scale}" if r.range else ""
        print(f"  {r.prop:31s}{shown}{rng}\n      {r.source}" + (f"  [{r.note}]" if r.note else ""))
    cited = sorted({key for r in rows for key in cited_keys(f"{r.source} {r.note}")})
    print("\nSources:")
    for key in cited:
        print(f"  {key:15s} {source_citations()[key]}")
    return 0


def _cmd_sweep(args):
    from sim.case import parse_case_text, read_case_text
    from sim.studies import run_sweep
    doc = parse_case_text(read_case_text(args.sweep), args.sweep)
    if isinstance(doc, dict) and "kind" in doc and "base" not in doc:
        raise SimError(f"{args.sweep}: this is a case file (it has `kind`), not a sweep file: run it with "
                       f"`sim run {args.sweep}`, or write a sweep file with `base = \"{Path(args.sweep).name}\"` "
                       "(docs/studies.md)")
    out = args.output or str(Path("results") / (Path(args.sweep).stem + ".h5"))
    t0 = time.perf_counter()
    sweep = args.sweep
    if args.set:
        from sim.case import parse_override
        from sim.studies import load_sweep
        sweep = load_sweep(args.sweep, [parse_override(s) for s in args.set])
    table = run_sweep(sweep, out, executor=args.executor, jobs=args.jobs, scheduler=args.scheduler,
                      resume=args.resume)
    ok = int((table["status"] == "ok").sum())
    print(f"wrote {out}: {ok}/{len(table)} cases ok ({time.perf_counter() - t0:.1f} s)")
    return 0 if ok == len(table) else 1


def _cmd_export(args):
    from sim.export import export_csv
    from sim.io import read_result
    paths = export_csv(read_result(args.result), args.csv)
    for p in paths:
        print(p)
    return 0


def _cmd_demo(args):
    from sim.figures import render_all
    from sim.run import run_case
    cases = sorted(Path(args.cases).glob("*.toml")) + sorted(Path(args.cases).glob("verification/*.toml"))
    if not cases:
        print(f"no case files in {args.cases}", file=sys.stderr)
        return 2
    failed, outputs = [], []
    for path in cases:
        t0 = time.perf_counter()
        sub = Path(args.out) / path.parent.relative_to(args.cases)
        try:
            out = run_case(path, sub / (path.stem + ".h5"))
            figs = render_all(out, sub / path.stem)
        except SimError as e:
            failed.append(path)
            print(f"FAILED {path}: {e}", file=sys.stderr)
            continue
        outputs.append(out)
        print(f"{path} -> {out} and {len(figs)} figure files ({time.perf_counter() - t0:.1f} s)")
    from sim.figures import render_comparison
    from sim.io import read_result
    from sim.kinds import kind
    groups = {}
    for o in outputs:               # compare like with like: the kind says which study a result belongs to
        k = kind(read_kind(o))
        study = k.study_of(read_result(o)) if hasattr(k, "study_of") else None
        if study:
            groups.setdefault(study, []).append(o)
    for study, group in groups.items():
        if len(group) > 1:
            figs = render_comparison(group, Path(args.out) / "comparison" / study)
            print(f"comparison of {len(group)} {study} results -> {len(figs)} figure files")
    from sim.studies import run_sweep
    for path in sorted(Path(args.cases).glob("sweeps/*.toml")):
        t0 = time.perf_counter()
        out = Path(args.out) / "sweeps" / (path.stem + ".h5")
        try:
            table = run_sweep(path, out, executor="auto")
            figs = render_all(out, Path(args.out) / "sweeps" / path.stem)
        except SimError as e:
            failed.append(path)
            print(f"FAILED {path}: {e}", file=sys.stderr)
            continue
        print(f"{path} -> {out}: {int((table['status'] == 'ok').sum())}/{len(table)} cases ok, "
              f"{len(figs)} figure files ({time.perf_counter() - t0:.1f} s)")
    if failed:
        print(f"{len(failed)} case(s) failed: {', '.join(map(str, failed))}", file=sys.stderr)
        return 1
    return 0


def read_kind(path):
    from sim.io import read_result
    return read_result(path).attrs.get("kind", "")


def build_parser():
    p = argparse.ArgumentParser(prog="sim", description="Interfaces of all-solid-state Li batteries: "
                                "layered PNP solvers, polarization budgets and energy density.")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="run a case file and write HDF5",
                       description="Validate and run CASE.toml; write HDF5 with units and provenance.")
    r.add_argument("case", nargs="?", help="case file (TOML)")
    r.add_argument("-o", "--output", help="output HDF5 (default: results/<case-stem>.h5)")
    r.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a case key (validated like the file), e.g. --set temperature_K=313.15 "
                   "--set layers.sse.thickness_m=1e-8; repeatable")
    r.add_argument("--from", dest="from_result", metavar="RESULT.h5",
                   help="re-run the case stored in a result file (its text, path and overrides)")
    r.add_argument("--figures", action="store_true", help="also draw the figures next to the output")
    r.set_defaults(func=_cmd_run)

    v = sub.add_parser("validate", help="check case or sweep files without running them",
                       description="Parse and validate case files (and every case a sweep file generates); "
                       "stop at the first problem, naming the file, key, value and reason.")
    v.add_argument("case", nargs="+", help="case or sweep file(s)")
    v.set_defaults(func=_cmd_validate)

    f = sub.add_parser("figures", help="draw every figure a result file supports",
                       description="Draw figures from HDF5 result files alone; with several files, "
                       "also overlays (e.g. SCL with and without a buffer) in OUT/comparison.")
    f.add_argument("result", nargs="+", help="HDF5 result file(s); several also give comparison figures")
    f.add_argument("--format", default="pdf,png", help="comma-separated formats (default: pdf,png)")
    f.add_argument("--out", help="output folder (default: next to the file, named after it)")
    f.add_argument("--style", help="matplotlib style file to override the house style")
    f.set_defaults(func=_cmd_figures)

    m = sub.add_parser("materials", help="list the materials database with sources",
                       description="Every property: value, unit, SI value, the range it is uncertain over, and its "
                       "source (a citation, or MODEL with the reason). See docs/materials.md.")
    m.add_argument("--name", help="only this material")
    m.set_defaults(func=_cmd_materials)

    w = sub.add_parser("sweep", help="run a parameter study from a sweep file",
                       description="Run every case of a sweep file and stream the results into one HDF5 file "
                       "(a row per case in each result dataset, and a summary table). See docs/studies.md.")
    w.add_argument("sweep", help="sweep file (TOML)")
    w.add_argument("-o", "--output", help="output HDF5 (default: results/<sweep-stem>.h5)")
    w.add_argument("--executor", default="auto", choices=("auto", "serial", "processes", "dask"),
                   help="where cases run (default: auto = Dask on --scheduler if given, else local processes "
                   "when the first case shows they pay off, else serial)")
    w.add_argument("-j", "--jobs", type=int, help="workers (default: all cores)")
    w.add_argument("--scheduler", help="address of a running Dask scheduler, reused across sweeps (start one "
                   "that outlives them with `dask scheduler` and `dask worker ADDRESS --nworkers N --nthreads 1`)")
    w.add_argument("--resume", action="store_true", help="skip cases already completed in the output")
    w.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a key of the base case (validated like the file); repeatable")
    w.set_defaults(func=_cmd_sweep)

    e = sub.add_parser("export", help="write a result or sweep file as CSV tables",
                       description="Write the tables of a result file (datasets that share their coordinates, "
                       "and the scalars) or a sweep file's summary as CSV files, each column headed 'name (units)'. "
                       "The file's digests are checked first.")
    e.add_argument("result", help="HDF5 result or sweep file")
    e.add_argument("--csv", required=True, metavar="DIR", help="folder for the CSV files (created if needed)")
    e.set_defaults(func=_cmd_export)

    d = sub.add_parser("demo", help="run every case in a folder and draw the figures",
                       description="Run all *.toml cases in --cases, write HDF5 and figures to --out.")
    d.add_argument("--cases", default="cases", help="folder of case files (default: cases)")
    d.add_argument("--out", default="results", help="output folder (default: results)")
    d.set_defaults(func=_cmd_demo)
    return p


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"warning: {message}", file=sys.stderr)


def main(argv=None):
    import signal
    import warnings
    warnings.showwarning = _show_warning
    from sim.io import terminate_handler
    signal.signal(signal.SIGTERM, terminate_handler)        # no temporary file or lock survives a SIGTERM
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except SimError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:                 # Ctrl-C: one line; outputs are written whole or not at all
        print("interrupted: nothing was written for the unfinished work (a sweep keeps its finished cases; "
              "--resume goes on)", file=sys.stderr)
        return 130
