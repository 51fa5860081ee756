"""Print docs/case-format.md from the schemas: `python -m sim.docs_case_format > docs/case-format.md`."""
from sim.schema import render_markdown
from sim.kinds import schemas
from sim.studies.spec import SWEEP_SCHEMA

HEADER = """# Case-file format

Case files are TOML (read with `tomllib`). `kind` selects the model. Every key is listed
below with its type, unit, default and constraint; the tables are generated from the schemas in
`sim/kinds/*/schema.py` (regenerate with `python -m sim.docs_case_format > docs/case-format.md`).
Validation runs before any computation; a bad value gives one error naming the file, key path, value and reason.
"""


EXAMPLES = """## Worked examples

**A variant without editing the file.** Any key can be set on the command line; the value is read as TOML and
validated like the file (a typo gets a did-you-mean):

    python -m sim run cases/lco_lps.toml --set temperature_K=313.15 --set layers.sse.thickness_m=1e-8
    python -m sim sweep cases/sweeps/lno_thickness.toml --set cathode.potential_V=4.2
    python -m sim run --from results/lco_lps.h5        # re-run exactly what produced a result

**A material defined in the case.** A `[materials.<name>]` table with a name the database does not have defines a
new material for this case; keys carry the database's units (`python -m sim materials`), and it is stored with the
result (`materials_json`):

    [materials.LSO]
    carriers = "frenkel"
    eps_r = 10.0
    defect_site_density_mol_m3 = 2.5e4
    saturation_alpha = 0.1
    frenkel_energy_eV = 0.1
    conductivity_S_cm = 1e-3          # the defect diffusivities follow by Nernst-Einstein
    mu0_li_eV = 0.05                  # Li+ level against LPS

    [layers.sse]
    material = "LSO"
    thickness_m = 20e-9

**A layer without a material.** Give the values directly; a species is present in a layer as soon as the layer
gives values for it:

    [layers.film]
    thickness_m = 5e-9
    h_max_m = 2.5e-11                 # a fifth of its screening length
    eps_r = 20.0
    carriers = "single"
    [layers.film.species.Li]
    c_max_mol_m3 = 3e4
    c_bulk_mol_m3 = 3e3
    D_m2_s = 1e-15

**A one-sided double layer** (electrode | electrolyte; `cases/verification/swift_qi_llzo.toml`): `[surface]
bulk_potential_V` and one layer; leave out `thickness_m` for a semi-infinite layer meshed from its screening
lengths; `[sweep] bulk_potential_V = [0.05, 2.5]` sweeps the potential.

**Impedance spectra** (`cases/lco_lps_impedance.toml`): `[impedance] temperatures_K = [298.15, 333.15]` switches
them on; `electrodes`, the frequency range, a DC bias, the circuit to fit and a measured CSV to overlay are
optional.
"""


def render():
    out = [HEADER, EXAMPLES]
    for kind, (schema, _) in schemas().items():
        out += [f"## kind = \"{kind}\"", ""] + render_markdown(schema, "", 3) + [""]
    out += ["## Sweep files (`python -m sim sweep`)", "", "See docs/studies.md.", ""] + render_markdown(SWEEP_SCHEMA, "", 3) + [""]
    return "\n".join(out)


if __name__ == "__main__":
    print(render(), end="")
