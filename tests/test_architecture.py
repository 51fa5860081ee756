"""Structure checks: no import cycle among the modules of sim/, and every module imports on its
own in a fresh interpreter (no order-dependent imports)."""
import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIM = ROOT / "sim"


def _modules():
    out = {}
    for p in SIM.rglob("*.py"):
        name = ".".join(p.relative_to(ROOT).with_suffix("").parts)
        out[name[:-9] if name.endswith(".__init__") else name] = p
    return out


def _graph(mods):
    """Module-level `sim` imports of every module."""
    graph = {}
    for name, p in mods.items():
        pkg = name if p.name == "__init__.py" else name.rsplit(".", 1)[0]
        deps = set()
        for node in ast.parse(p.read_text()).body:
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = pkg.split(".")[:len(pkg.split(".")) - node.level + 1]
                    full = ".".join(parts + ([node.module] if node.module else []))
                else:
                    full = node.module or ""
                for a in node.names:
                    cand = f"{full}.{a.name}"
                    deps.add(cand if cand in mods else full)
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names}
        graph[name] = {d for d in deps if d in mods and d != name}
    return graph


def test_no_import_cycle_at_module_level():
    graph = _graph(_modules())
    state = {}

    def visit(v, path):
        state[v] = 1
        for w in graph[v]:
            assert state.get(w) != 1, "import cycle: " + " -> ".join(path + [v, w])
            if w not in state:
                visit(w, path + [v])
        state[v] = 2
    for v in graph:
        if v not in state:
            visit(v, [])


def test_every_module_imports_alone_in_a_fresh_interpreter():
    code = ("import importlib, subprocess, sys\n"
            "bad = []\n"
            "for m in sys.argv[1:]:\n"
            "    r = subprocess.run([sys.executable, '-c', f'import {m}'], capture_output=True, text=True)\n"
            "    if r.returncode: bad.append((m, r.stderr.strip().splitlines()[-1]))\n"
            "print(bad)\n")
    mods = sorted(m for m in _modules() if not m.endswith("__main__"))
    r = subprocess.run([sys.executable, "-c", code] + mods, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert r.stdout.strip() == "[]", r.stdout + r.stderr
