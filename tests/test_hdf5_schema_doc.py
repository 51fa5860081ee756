"""docs/hdf5-schema.md cannot drift: every dataset path it documents (with the unit it gives) exists in
the output of a shipped case, the documented root and group attributes are there, and every array has
the dimensions the doc's table gives it (and every coordinate it lists is a dimension scale)."""
import re
from pathlib import Path

import h5py

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "hdf5-schema.md"
#: sections of the doc and the shipped cases whose outputs they describe
SECTIONS = {"energy_density": ["fig3_energy_density"], "polarization": ["separator_budget"],
            "pnp": ["lco_lno_lps", "lco_lno_lps_charging", "lco_lno_lps_impedance", "li_llzo",
                    "swift_qi_llzo"], "design_map": ["design_map"],
            "uncertainty": ["uncertainty_rscl", "uncertainty_separator"],
            "fit": ["fit_blocking_cell", "fit_lco_lps"]}


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
        a = f["pnp/observables/interface_0/right/excess_resistance"].attrs
        assert a["interface"] == "cathode|sse" and a["side"] == "right"
    assert all(u is not None for u in ds.values())


def _dims(path):
    """{dataset path: tuple of dimension names, or 'scale'} of a file, every link included (aliases too)."""
    out = {}
    with h5py.File(path) as f:
        names = []
        f.visititems_links(lambda n, link: names.append(n))
        for n in names:
            o = f[n]
            if isinstance(o, h5py.Dataset) and o.ndim:
                out[n] = "scale" if o.is_scale else tuple(o.dims[i][0].name.rsplit("/", 1)[-1] if len(o.dims[i])
                                                          else None for i in range(o.ndim))
    return out


def test_dimensions_table_and_coordinates(demo_results):
    """Each row of the doc's dimensions table: its arrays exist and carry exactly those dimensions; each
    listed coordinate is a dimension scale; every array of every output is covered by the table or the
    coordinate list (a new array without documented dimensions fails here); the aliases exist."""
    _, results = demo_results
    text = DOC.read_text()
    section = text.split("## Dimensions and coordinates")[1].split("\n## ")[0]
    files = {stem: _dims(p) for stem, p in results.items()}
    every = {(stem, n): d for stem, ds in files.items() for n, d in ds.items()}
    covered, problems = set(), []
    rows = re.findall(r"^\| (`/.+?) \| (.+?) \|$", section, flags=re.M)
    assert len(rows) > 10
    for paths, dims in rows:
        want = tuple(re.findall(r"`(\w+)`", dims))
        for rx, _ in documented(paths):
            hits = [(k, d) for k, d in every.items() if rx.match(k[1])]
            if not hits and not rx.pattern.startswith("summary") and not any(o in rx.pattern for o in OPTIONAL):
                problems.append(f"{rx.pattern}: no such array in any output")
            for k, d in hits:
                covered.add(k)
                if d != want:
                    problems.append(f"{k[0]}: /{k[1]} has dimensions {d}, the doc says {want}")
    coords = section.split("A *coordinate*")[1].split("\n- ")[0]
    for rx, _ in documented(coords):
        hits = [(k, d) for k, d in every.items() if rx.match(k[1])]
        if not hits and not any(o in rx.pattern for o in OPTIONAL):
            problems.append(f"coordinate {rx.pattern}: not in any output")
        for k, d in hits:
            covered.add(k)
            if d != "scale":
                problems.append(f"{k[0]}: /{k[1]} is documented as a coordinate but has dimensions {d}")
    aliases = re.compile(r"(^|/)c(_bulk)?_[^/]+$")
    uncovered = sorted(f"{s}: /{n}" for (s, n) in every if (s, n) not in covered and not aliases.search(n))
    assert not problems and not uncovered, "\n".join(problems + [f"undocumented dimensions: {u}" for u in uncovered])
    lco = files["lco_lps"]
    for alias, name in (("pnp/c_Li_i", "pnp/c/Li_i"), ("pnp/c_bulk_Li_i", "pnp/c_bulk/Li_i"),
                        ("pnp/sweep/c_Li_i", "pnp/sweep/c/Li_i")):
        assert lco[alias] == lco[name]
    assert files["lco_lps_charging"]["pnp/transient/c_Li_i"] == ("setpoint", "time", "x")
