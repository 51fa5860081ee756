"""docs/hdf5-schema.md cannot drift: every dataset path it documents (with the unit it gives) exists in
the output of a shipped case, and the documented root and group attributes are there."""
import re
from pathlib import Path

import h5py

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "hdf5-schema.md"
#: sections of the doc and the shipped cases whose outputs they describe
SECTIONS = {"energy_density": ["fig3_energy_density"], "polarization": ["separator_budget"],
            "pnp": ["lco_lno_lps", "lco_lno_lps_charging", "lco_lno_lps_impedance", "li_llzo",
                    "swift_qi_llzo"], "design_map": ["design_map"]}


def _split(items):
    """Top-level comma split of a brace body."""
    out, depth, cur = [], 0, ""
    for ch in items:
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
            continue
        depth += ch in "({[" and 1 or 0
        depth -= ch in ")}]" and 1 or 0
        cur += ch
    return out + [cur.strip()] if cur.strip() else out


#: documented outputs that only some cases write (a measured spectrum, interface ASRs of a stack)
OPTIONAL = ("impedance/measured/", "polarization/interfaces/")


def _expand(span, unit=None):
    """'/a/{b, c (u)}/{d, e}' -> [('/a/b/d', None), ('/a/b/e', None), ('/a/c/d', 'u'), ...]."""
    m = re.match(r"^([^{]*)\{([^{}]*)\}(.*)$", span)
    if not m:
        return [(span, unit)]
    out = []
    for item in _split(m.group(2)):
        um = re.match(r"^([\w<>.]+)\s*(?:\(([^;)]*)[;)]?.*)?$", item)
        if um:
            out += _expand(m.group(1) + um.group(1) + m.group(3), um.group(2) or unit)
    return out


def documented(section_text):
    """[(path regex, unit or None)] of every absolute dataset path the section documents."""
    out = []
    for span in re.findall(r"`(/[^`]+)`", section_text):
        for path, unit in _expand(span):
            if path.endswith("/") or any(o in path for o in OPTIONAL):
                continue
            if "{" in path or "..." in path or " " in path:
                continue
            rx = re.escape(path.strip("/")).replace(r"\<", "<").replace(r"\>", ">")
            rx = re.sub(r"<[^>]+>", r"[^/]+", rx)
            u = re.split(r",| vs", unit)[0].strip() if unit else None
            looks_like_unit = u and (" " not in u or u == "ohm cm^2")
            out.append((re.compile(rx + "$"), u if looks_like_unit else None))
    return out


def _datasets(path):
    found = {}
    with h5py.File(path) as f:
        f.visititems(lambda n, o: found.__setitem__(n, o.attrs.get("units")) if isinstance(o, h5py.Dataset) else None)
        return found, dict(f.attrs)


def test_every_documented_path_and_unit_exists(demo_results):
    out, results = demo_results
    text = DOC.read_text()
    problems = []
    for section, stems in SECTIONS.items():
        body = text.split(f"## {section}")[1].split("\n## ")[0]
        files = [_datasets(results[s])[0] for s in stems]
        for rx, unit in documented(body):
            hits = [(n, u) for ds in files for n, u in ds.items() if rx.match(n)]
            if not hits:
                problems.append(f"{section}: {rx.pattern} not in any output")
            elif unit and unit not in ("1",) and not any(u == unit for _, u in hits):
                problems.append(f"{section}: {rx.pattern} documented in {unit!r}, files have {sorted({u for _, u in hits})}")
    assert not problems, "\n".join(problems)


def test_documented_root_and_group_attributes(demo_results):
    out, results = demo_results
    root = DOC.read_text().split("Root attributes:")[1].split("Units below")[0]
    names = re.findall(r"`(\w+)`", root)
    ds, attrs = _datasets(results["lco_lps"])
    assert set(names) <= set(attrs), set(names) - set(attrs)
    with h5py.File(results["lco_lps"]) as f:
        a = f["pnp/observables/interface_0/right/r_scl"].attrs
        assert a["interface"] == "cathode|sse" and a["side"] == "right"
    assert all(u is not None for u in ds.values())
