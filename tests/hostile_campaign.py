"""Hostile-input campaign: byte- and text-level mutants of the shipped case and sweep files through
`sim validate` (and the valid ones of the cheap kinds through `sim run`), randomly damaged result
files through `sim figures`, and damaged sweep files through `sim sweep --resume`.

Independent of the hypothesis tests in test_fuzz.py: its own mutator works on the file text, the way
an editor, a script or a disk would damage it.  Every input goes through `sim.cli.main` in this
process, under an address-space limit and a per-input alarm, and is classified:

  accepted | clean error (exit 2, one line on stderr) | traceback (an exception escaped main, or
  "Traceback" on stderr) | hang (over the input's time limit) | out-of-memory (MemoryError) |
  trusted damage (a damaged result read as if intact, or a resume that ends with other numbers).

    python tests/hostile_campaign.py --mutants 2000 --seed 1 [--json results/hostile_campaign.json]

test_fuzz.py runs a fast sample by default and >= 2,000 mutants in the slow suite.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import random
import resource
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ADDRESS_SPACE_BYTES = 4 * 1024**3
VALIDATE_LIMIT_S = 30.0           # documented: validation of any file is bounded (docs/reliability.md)
RUN_LIMIT_S = 120.0
CHEAP_RUN_KINDS = ("polarization", "energy_density")
ALL_KINDS = ("polarization", "energy_density", "pnp", "design_map")
BAD_NUMBERS = ["0", "-1", "0.0", "-0.0", "1e308", "-1e308", "1e-320", "nan", "inf", "-inf", "1e6", "99999999999999999999",
               '"text"', "[]", "true", "{}", "[1, 2]", "1e-30", "5e4", "2"]
BAD_NAMES = ['"a/b"', '"."', '""', '"x y"', '"' + "n" * 300 + '"', '"é"', '"\\u0000"']


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang()


def _mutate_text(rng, text, name):
    """One random text-level mutation of a TOML file; returns bytes."""
    lines = text.splitlines()
    op = rng.choice(["number", "number", "number", "delete", "duplicate", "junk", "truncate", "nest",
                     "header", "big_array", "reference", "name", "typo", "grid", "swap"])
    if op == "number":
        idx = [i for i, l in enumerate(lines) if "=" in l and any(c.isdigit() for c in l.split("=", 1)[1])]
        if idx:
            i = rng.choice(idx)
            k = lines[i].split("=", 1)[0]
            lines[i] = f"{k}= {rng.choice(BAD_NUMBERS)}"
    elif op == "delete" and lines:
        del lines[rng.randrange(len(lines))]
    elif op == "duplicate" and lines:
        i = rng.randrange(len(lines))
        lines.insert(i, lines[i])
    elif op == "junk":
        data = "\n".join(lines).encode()
        at = rng.randrange(len(data) + 1)
        return data[:at] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 12))) + data[at:]
    elif op == "truncate":
        data = "\n".join(lines).encode()
        return data[:rng.randrange(len(data) + 1)]
    elif op == "nest":
        depth = rng.choice([100, 1000, 5000, 50000])
        lines.insert(rng.randrange(len(lines) + 1), "deep = " + "[" * depth + "]" * depth)
    elif op == "header":
        depth = rng.choice([100, 1000, 5000])
        lines.append("[" + ".".join(["t"] * depth) + "]")
    elif op == "big_array":
        n = rng.choice([10**3, 10**4, 10**5, 10**6])
        idx = [i for i, l in enumerate(lines) if "=" in l and "[" in l.split("=", 1)[1]]
        i = rng.choice(idx) if idx else None
        arr = "[" + ", ".join(["1.0"] * n) + "]"
        if i is not None:
            lines[i] = lines[i].split("=", 1)[0] + "= " + arr
        else:
            lines.append("values = " + arr)
    elif op == "reference":
        target = rng.choice(['"/dev/zero"', '"/dev/urandom"', f'"{name}"', '"."', '"/"', '"../../../../etc/passwd"',
                             '"missing.toml"', f'["{name}", "{name}"]', '"' + "x" * 5000 + '"'])
        key = rng.choice(["base", "pnp_cases", "measured_csv", "style"])
        if key == "pnp_cases" and not target.startswith("["):
            target = f"[{target}]"
        lines.insert(0, f"{key} = {target}")
    elif op == "name":
        idx = [i for i, l in enumerate(lines) if l.startswith("[") and "." in l]
        if idx:
            i = rng.choice(idx)
            head = lines[i].strip("[]").split(".")
            head[-1] = rng.choice(BAD_NAMES)
            lines[i] = "[" + ".".join(head) + "]"
    elif op == "typo":
        idx = [i for i, l in enumerate(lines) if "=" in l]
        if idx:
            i = rng.choice(idx)
            k, v = lines[i].split("=", 1)
            lines[i] = k.rstrip() + rng.choice(["_", "s", "x", "Q"]) + " =" + v
    elif op == "grid":
        lines.append(rng.choice(["points = 1000000", "samples = 100000", 'scale = "log"', "range = [0, 0]",
                                 "range = [4.0, 4.0]", "values = []", 'potential_V = [4.0, 4.0]',
                                 "[parameters.\"materials.LPS.eps_r\"]\nrange = [1, 1e300]\npoints = 1000000"]))
    elif op == "swap" and len(lines) > 1:
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    return ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape")


def _call(argv, limit_s):
    """Run sim.cli.main(argv) here; returns (outcome, detail)."""
    from sim.cli import main
    err, out = io.StringIO(), io.StringIO()
    signal.setitimer(signal.ITIMER_REAL, limit_s)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            code = main(argv)
    except Hang:
        return "hang", f"over {limit_s:g} s"
    except MemoryError:
        return "out-of-memory", ""
    except SystemExit as e:
        code = e.code
    except BaseException as e:          # anything else escaping main is a traceback for the user
        return "traceback", f"{type(e).__name__}: {str(e)[:200]}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    text = err.getvalue()
    if "Traceback" in text:
        return "traceback", text[-300:]
    if code in (0, None):
        return "accepted", ""
    errors = [l for l in text.splitlines() if l.startswith("error:")]
    if code == 2 and len(errors) == 1:
        return "clean error", errors[0][:200]
    return "traceback", f"exit {code}: {text[-300:]}"     # argparse usage errors also exit 2 with one line


def _damage(rng, data):
    """Bit flips, a zeroed block or a truncation of a file's bytes."""
    data = bytearray(data)
    op = rng.choice(["flip", "flip", "zero", "truncate", "tail"])
    if op == "flip":
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(len(data))
            data[i] ^= 1 << rng.randrange(8)
    elif op == "zero":
        i = rng.randrange(len(data))
        data[i:i + rng.randint(1, 4096)] = bytes(min(len(data) - i, rng.randint(1, 4096)))
    elif op == "truncate":
        data = data[:rng.randrange(len(data))]
    else:
        data += bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    return bytes(data), op


def _same_result(a, b):
    import numpy as np
    if set(a.data) != set(b.data):
        return False
    for k in a.data:
        x, y = a.data[k].value, b.data[k].value
        if isinstance(x, str) or isinstance(y, str):
            if x != y:
                return False
        elif not np.array_equal(np.asarray(x), np.asarray(y), equal_nan=np.asarray(x).dtype.kind in "fc"):
            return False
    return True


def campaign(mutants=200, seed=1, damaged=40, resumes=6, runs=40, run_kinds=CHEAP_RUN_KINDS, work=None,
             progress=False):
    """Run the campaign; returns {category: Counter(outcome)} and a list of failures."""
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_BYTES, resource.getrlimit(resource.RLIMIT_AS)[1]))
    signal.signal(signal.SIGALRM, _alarm)
    import matplotlib
    matplotlib.use("Agg")
    rng = random.Random(seed)
    own = work is None
    work = Path(work or tempfile.mkdtemp(prefix="sim-campaign-"))
    tally = {k: Counter() for k in ("validate", "run", "figures", "resume")}
    failures = []
    examples = {k: [] for k in tally}
    try:
        shutil.copytree(ROOT / "cases", work / "cases", dirs_exist_ok=True)
        originals = sorted((work / "cases").rglob("*.toml"))
        texts = {p: p.read_text(encoding="utf-8") for p in originals}

        def record(cat, outcome, label, detail):
            tally[cat][outcome] += 1
            if outcome in ("traceback", "hang", "out-of-memory", "trusted damage"):
                failures.append((cat, outcome, label, detail))
            elif outcome == "clean error" and len(examples[cat]) < 40:
                examples[cat].append((label, detail))

        # 1. mutated case and sweep files -> validate; cheap valid ones -> run
        ran = 0
        for n in range(mutants):
            src = rng.choice(originals)
            m = src.with_name(f"mutant{n % 50}_{src.name}")
            m.write_bytes(_mutate_text(rng, texts[src], m.name))
            outcome, detail = _call(["validate", str(m)], VALIDATE_LIMIT_S)
            record("validate", outcome, f"{src.name} #{n}", detail)
            if outcome == "accepted" and ran < runs and "sweep" not in src.parts[-2] and \
                    any(f'kind = "{k}"' in texts[src] for k in run_kinds):
                ran += 1
                o, d = _call(["run", str(m), "-o", str(work / "out" / f"run{n}.h5")], RUN_LIMIT_S)
                record("run", o, f"{src.name} #{n}", d)
            if progress and n % 100 == 0:
                print(f"{n}/{mutants} {dict(tally['validate'])}", file=sys.__stderr__, flush=True)

        # 2. damaged result files -> figures
        from sim.io import read_result
        from sim.run import run_case
        res = work / "res"
        res.mkdir(exist_ok=True)
        good = {name: run_case(work / "cases" / name, res / f"{Path(name).stem}.h5")
                for name in ("separator_budget.toml", "fig3_energy_density.toml")}
        intact = {k: read_result(p) for k, p in good.items()}
        for n in range(damaged):
            name = rng.choice(sorted(good))
            data, op = _damage(rng, good[name].read_bytes())
            target = res / f"damaged{n}.h5"
            target.write_bytes(data)
            outcome, detail = _call(["figures", str(target), "--format", "png", "--out", str(res / f"fig{n}")],
                                    VALIDATE_LIMIT_S)
            if outcome == "accepted":
                try:
                    if not _same_result(read_result(target), intact[name]):
                        outcome, detail = "trusted damage", op
                except Exception as e:            # the reader itself refused after figures drew: also a failure
                    outcome, detail = "trusted damage", f"{op}: {e}"
            record("figures", outcome, f"{name} damaged by {op}", detail)

        # 3. damaged sweep files -> sweep --resume
        if resumes:
            from sim.studies import load_summary
            import numpy as np
            base = work / "cases" / "separator_budget.toml"
            sweep = work / "cases" / "campaign_sweep.toml"
            sweep.write_text(f'base = "{base.name}"\n[parameters."layers.separator.thickness_um"]\n'
                             'range = [5.0, 40.0]\npoints = 4\n')
            ref = work / "res" / "sweep_ref.h5"
            _call(["sweep", str(sweep), "-o", str(ref), "--executor", "serial"], RUN_LIMIT_S)
            reference = load_summary(ref)
            for n in range(resumes):
                data, op = _damage(rng, ref.read_bytes())
                target = work / "res" / f"sweep_damaged{n}.h5"
                target.write_bytes(data)
                outcome, detail = _call(["sweep", str(sweep), "-o", str(target), "--executor", "serial", "--resume"],
                                        RUN_LIMIT_S)
                if outcome == "accepted":
                    table = load_summary(target)
                    cols = [c for c in reference.dtype.names if reference[c].dtype.kind == "f" and c != "wall_time"]
                    if not all(np.array_equal(table[c], reference[c], equal_nan=True) for c in cols):
                        outcome, detail = "trusted damage", op
                    read_result(target)
                elif outcome == "clean error" and target.read_bytes() != data:
                    outcome, detail = "trusted damage", f"{op}: the damaged file was changed by a failed resume"
                record("resume", outcome, f"sweep damaged by {op}", detail)
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)
    return tally, failures, examples


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mutants", type=int, default=2000)
    ap.add_argument("--damaged", type=int, default=200)
    ap.add_argument("--resumes", type=int, default=30)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--run-kinds", default=",".join(ALL_KINDS), help="kinds whose valid mutants are run")
    ap.add_argument("--json", help="write the tally here")
    a = ap.parse_args(argv)
    t0 = time.time()
    tally, failures, examples = campaign(a.mutants, a.seed, a.damaged, a.resumes, a.runs, a.run_kinds.split(","),
                                         progress=True)
    report = {"seed": a.seed, "wall_time_s": round(time.time() - t0, 1),
              "address_space_limit_bytes": ADDRESS_SPACE_BYTES,
              "tally": {k: dict(v) for k, v in tally.items()}, "failures": failures,
              "clean_error_examples": examples}
    print(json.dumps(report, indent=1))
    if a.json:
        Path(a.json).write_text(json.dumps(report, indent=1))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
