"""The benchmark harness: timing, the machine, sections, targets and the report.  It measures nothing itself.

A benchmark is a `Section`: its key in results/benchmarks.json, a title, `measure(tiny) -> dict`,
`report(result) -> [markdown lines]` and `targets(result) -> [Target]`.  Every target is a ratio or a time
measured within the section's own run, reported as met or missed; a miss carries its explanation (`why`),
from a profile where one was taken.  A section whose functions do not exist yet returns `not_measured(...)`
(see `missing`), and one that fails records its error: the report then says so and the other sections run.
"""
from __future__ import annotations

import datetime as dt
import importlib
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
NOT_MEASURED = "not measured yet"


def machine():
    """What the numbers were measured on."""
    model = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import scipy
    from importlib.metadata import PackageNotFoundError, version
    try:
        fipy_version = version("fipy")                  # without importing it (3 s)
    except PackageNotFoundError:
        fipy_version = "not installed"
    return {"platform": platform.platform(), "python": platform.python_version(), "cpu": model,
            "cores": os.cpu_count(), "numpy": np.__version__, "scipy": scipy.__version__, "fipy": fipy_version,
            "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
            "date_utc": now_utc()}


def now_utc():
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def timed(fn, reps):
    """(median seconds, all times, last result) of `reps` calls of fn."""
    times, res = [], None
    for _ in range(reps):
        t0 = time.perf_counter()
        res = fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), times, res


def interleaved(fns, rounds):
    """{name: [seconds per round]} of fns ({name: callable}) run in turn, round after round, so that every
    one of them sees the same machine (single timings on a shared machine drift by tens of percent)."""
    times = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return times


class MachineLoad:
    """Context manager: the CPU that other processes took while the block ran (Linux /proc/stat), in
    cores: `others_cores` = cores - idle - this process tree's own use.  None where /proc/stat is absent."""

    def __enter__(self):
        self._t, self._idle, self._own = time.monotonic(), _idle_s(), _own_cpu_s()
        return self

    def __exit__(self, *exc):
        wall = time.monotonic() - self._t
        idle, own = _idle_s(), _own_cpu_s()
        self.wall_s = wall
        if idle is None or self._idle is None or wall <= 0:
            self.idle_cores = self.own_cores = self.others_cores = None
            return False
        self.idle_cores = (idle - self._idle) / wall
        self.own_cores = (own - self._own) / wall
        self.others_cores = max(0.0, (os.cpu_count() or 1) - self.idle_cores - self.own_cores)
        return False


def _idle_s():
    try:
        with open("/proc/stat", "rb") as f:
            fields = f.readline().split()
        return (int(fields[4]) + int(fields[5])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _own_cpu_s():
    """CPU seconds of this process and of its children that have been waited for."""
    import resource
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def missing(*names):
    """The first of `names` ("module:attribute" or "module") that does not exist yet, or None."""
    for name in names:
        module, _, attr = name.partition(":")
        try:
            mod = importlib.import_module(module)
        except ImportError:
            return name
        if attr and not hasattr(mod, attr):
            return name
    return None


def not_measured(reason):
    return {"status": f"{NOT_MEASURED}: {reason}"}


def status(result):
    """'measured', or why not ('not measured yet: ...', 'failed: ...', 'not in this run')."""
    if result is None:
        return "not in this run"
    return result.get("status", "measured") if isinstance(result, dict) else "measured"


@dataclass
class Target:
    """A target: `value` against `target` (value ≥ target when `higher`, else ≤), with the reason when
    missed (`why`) and an optional remark shown either way (`note`)."""
    name: str
    value: float
    target: float
    higher: bool = True
    why: str = ""
    note: str = ""

    @property
    def met(self):
        return bool(self.value >= self.target if self.higher else self.value <= self.target)

    def line(self):
        s = f"- {self.name}: {self.value:.3g} (target {'≥' if self.higher else '≤'} {self.target:g}) — "
        if self.met:
            s += "met"
        else:
            gap = (self.target / self.value - 1) if self.higher else (self.value / self.target - 1)
            s += f"**missed** by {100 * gap:.0f} %" + (f": {self.why}" if self.why else "")
        return s + (f" ({self.note})" if self.note else "")


@dataclass
class Section:
    """One benchmark: measure(tiny) -> result dict, report(result) -> markdown lines, targets(result) ->
    [Target]; `pending` names targets that cannot be checked while the section is not measured."""
    key: str
    title: str
    measure: Callable
    report: Callable
    targets: Callable = lambda r: []
    pending: list = field(default_factory=list)


def run_section(section, tiny):
    """The section's result with when and how long it was measured; a failure is recorded, not raised."""
    import traceback
    t0 = time.perf_counter()
    try:
        r = section.measure(tiny)
    except Exception as e:      # a broken section must not cost the others' numbers
        traceback.print_exc()
        r = {"status": f"failed: {type(e).__name__}: {str(e)[:300]}"}
    r["measured_utc"] = now_utc()
    r["benchmark_s"] = time.perf_counter() - t0
    return r


def render(res, sections, kept="", notes=()):
    """The markdown report of results `res` ({section key: result}): the sections, the targets, `notes`
    (lines) and `kept`, appended verbatim (the hand-written sections of the old report that the generator
    keeps, e.g. "## Figures")."""
    m = res["machine"]
    load = m.get("load_average_at_start")
    L = ["# Performance", "",
         f"Measured by `python benchmarks/run.py` on {m['date_utc']}: {m['cpu'] or m['platform']}, "
         f"{m['cores']} cores, Python {m['python']}, numpy {m['numpy']}, scipy {m['scipy']}, FiPy {m['fipy']}"
         + (f"; load average {load[0]:.1f} when it started" if load else "") + ". "
         "Medians over repetitions (set-up excluded unless said). Every target is a ratio or a time measured "
         "within its own section of this run; the machine is shared, so each section also says how much CPU "
         "other processes took where that matters. Raw numbers: `results/benchmarks.json`; "
         "`python benchmarks/run.py --render` rewrites this page from them.", ""]
    if res.get("tiny"):
        L += ["**Tiny sizes (a smoke run): these numbers mean nothing.**", ""]
    targets = []
    for n, sec in enumerate(sections, 1):
        r = res.get(sec.key)
        st = status(r)
        L += [f"## {n}. {sec.title}", ""]
        if st != "measured":
            L += [f"{st[0].upper()}{st[1:]}.", ""]
            targets += [f"- {name}: {st}" for name in sec.pending]
            continue
        if r.get("measured_utc", "")[:10] != m["date_utc"][:10]:
            L += [f"(Measured on {r['measured_utc']}, not in the run above.)", ""]
        L += list(sec.report(r)) + [""]
        targets += [t.line() for t in sec.targets(r)]
    L += ["## Targets", ""] + targets + [""]
    if notes:
        L += list(notes) + [""]
    if kept:
        L += [kept.rstrip(), ""]
    return "\n".join(L)


KEPT_SECTIONS = ("## Figures",)


def kept_sections(old_md):
    """The hand-written sections of an existing report (headings in KEPT_SECTIONS, each up to the next
    "## " heading), to carry into the regenerated one."""
    out, keep = [], False
    for line in old_md.splitlines():
        if line.startswith("## "):
            keep = line.strip().startswith(KEPT_SECTIONS)
        if keep:
            out.append(line)
    return "\n".join(out)
