"""The one-sided single-carrier layer in DEVSIM, for the optional comparison of benchmarks/run.py.

Dimensionless: x in Debye lengths, psi in kT/e, u = c / c0.  Poisson  -psi'' = u - 1;  steady
Nernst-Planck with the Scharfetter-Gummel flux N = [u_0 B(psi_1 - psi_0) - u_1 B(psi_0 - psi_1)] / h.
x = 0: psi = psi0, blocking for the carrier; x = L: psi = 0, u = 1.  DEVSIM is vertex-centred
(nodes on the mesh points), so its mesh of N nodes is compared with our N cells.

Needs `pip install devsim devsim-openblas` (an optional extra; never a core dependency).
"""
from __future__ import annotations

import time

import numpy as np


def _import_devsim():
    import sys
    if "devsim" not in sys.modules:
        try:
            import devsim_openblas
            devsim_openblas.configure()
        except ImportError:
            pass
    import devsim
    return devsim


def solve_one_sided(psi0, n_nodes=1000, length=40.0, step=2.0):
    """Solve with DEVSIM; returns (SCL charge in units of e c0 lambda, wall time s, Newton steps)."""
    ds = _import_devsim()
    tag = f"os{n_nodes}_{abs(hash((psi0, time.perf_counter()))) % 10**8}"
    mesh, device, region = f"m{tag}", f"d{tag}", "r"
    ds.create_1d_mesh(mesh=mesh)
    ds.add_1d_mesh_line(mesh=mesh, pos=0.0, ps=length / (n_nodes - 1), tag="left")
    ds.add_1d_mesh_line(mesh=mesh, pos=length, ps=length / (n_nodes - 1), tag="right")
    ds.add_1d_contact(mesh=mesh, name="left", tag="left", material="metal")
    ds.add_1d_contact(mesh=mesh, name="right", tag="right", material="metal")
    ds.add_1d_region(mesh=mesh, material="sse", region=region, tag1="left", tag2="right")
    ds.finalize_mesh(mesh=mesh)
    ds.create_device(mesh=mesh, device=device)
    for name in ("psi", "u"):
        ds.node_solution(device=device, region=region, name=name)
        ds.edge_from_node_model(device=device, region=region, node_model=name)
    ds.set_node_values(device=device, region=region, name="psi", init_from="NodeVolume")
    n = len(ds.get_node_model_values(device=device, region=region, name="psi"))
    ds.set_node_values(device=device, region=region, name="psi", values=[10.0] * n)
    ds.set_node_values(device=device, region=region, name="u", values=[1.0] * n)
    ds.set_parameter(name="psi0", value=0.0)

    def edge(name, expr, variables):
        ds.edge_model(device=device, region=region, name=name, equation=expr)
        for v in variables:
            for k in ("n0", "n1"):
                ds.edge_model(device=device, region=region, name=f"{name}:{v}@{k}",
                              equation=f"diff({expr}, {v}@{k})")

    def node(name, expr, variables, contact=None):
        if contact:
            ds.contact_node_model(device=device, contact=contact, name=name, equation=expr)
        else:
            ds.node_model(device=device, region=region, name=name, equation=expr)
        for v in variables:
            if contact:
                ds.contact_node_model(device=device, contact=contact, name=f"{name}:{v}", equation=f"diff({expr}, {v})")
            else:
                ds.node_model(device=device, region=region, name=f"{name}:{v}", equation=f"diff({expr}, {v})")

    edge("Efield", "(psi@n0 - psi@n1) * EdgeInverseLength", ["psi"])
    node("charge", "-(u - 1)", ["u"])
    edge("Nflux", "(u@n0 * B(psi@n1 - psi@n0) - u@n1 * B(psi@n0 - psi@n1)) * EdgeInverseLength", ["psi", "u"])
    ds.equation(device=device, region=region, name="Poisson", variable_name="psi", node_model="charge",
                edge_model="Efield")
    ds.equation(device=device, region=region, name="Continuity", variable_name="u", edge_model="Nflux")
    # psi is offset by 10 so that no node sits at 0: DEVSIM's relative update error would stall there
    node("leftbc", "psi - psi0 - 10", ["psi"], contact="left")
    node("rightbc", "psi - 10", ["psi"], contact="right")
    node("rightu", "u - 1", ["u"], contact="right")
    ds.contact_equation(device=device, contact="left", name="Poisson", node_model="leftbc")
    ds.contact_equation(device=device, contact="right", name="Poisson", node_model="rightbc")
    ds.contact_equation(device=device, contact="right", name="Continuity", node_model="rightu")

    t0 = time.perf_counter()
    steps = 0
    targets = list(np.arange(step, abs(psi0), step) * np.sign(psi0)) + [psi0]
    for v in targets:
        ds.set_parameter(name="psi0", value=float(v))
        info = ds.solve(type="dc", absolute_error=1e-9, relative_error=1e-12, maximum_iterations=60, info=True)
        steps += len(info.get("iterations", [])) if isinstance(info, dict) else 0
    wall = time.perf_counter() - t0
    u = np.array(ds.get_node_model_values(device=device, region=region, name="u"))
    vol = np.array(ds.get_node_model_values(device=device, region=region, name="NodeVolume"))
    q = float(np.sum((u - 1.0) * vol))
    ds.delete_device(device=device)
    ds.delete_mesh(mesh=mesh)
    return q, wall, steps
