"""Structure checks: no import cycle among the modules of sim/, counting imports inside functions (a
package's PEP 562 `__getattr__` aside: it runs only when an attribute is asked for), and every module
imports on its own in a fresh interpreter (no order-dependent imports)."""
import ast
import subprocess

import pytest
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
    """Every `sim` import of every module, wherever it stands (functions included), but in a package's
    module-level `__getattr__`."""
    graph = {}
    for name, p in mods.items():
        pkg = name if p.name == "__init__.py" else name.rsplit(".", 1)[0]
        deps = set()
        tree = ast.parse(p.read_text())
        lazy = {id(n) for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "__getattr__"
                and p.name == "__init__.py" for n in ast.walk(node)}
        for node in ast.walk(tree):
            if id(node) in lazy:
                continue
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


def test_no_import_cycle_even_inside_functions():
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


@pytest.mark.slow                  # ~100 interpreters (45-90 s on 2 cores): make test-all runs it
def test_every_module_imports_alone_in_a_fresh_interpreter():
    from concurrent.futures import ThreadPoolExecutor
    mods = sorted(m for m in _modules() if not m.endswith("__main__"))

    def try_import(m):
        r = subprocess.run([sys.executable, "-c", f"import {m}"], capture_output=True, text=True, cwd=ROOT,
                           timeout=300)
        return (m, r.stderr.strip().splitlines()[-1]) if r.returncode else None
    with ThreadPoolExecutor(2) as pool:              # the subprocesses run in parallel on the two cores
        bad = [b for b in pool.map(try_import, mods) if b]
    assert not bad, bad
