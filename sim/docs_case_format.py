"""Print docs/case-format.md from the schemas: `python -m sim.docs_case_format > docs/case-format.md`."""
from .schema import render_markdown
from .schemas import KINDS

HEADER = """# Case-file format

Case files are TOML (read with `tomllib`). `kind` selects the model. Every key is listed
below with its type, unit, default and constraint; the tables are generated from the schemas in
`sim/schemas/` (regenerate with `python -m sim.docs_case_format > docs/case-format.md`).
Validation runs before any computation; a bad value gives one error naming the file, key path, value and reason.
"""


def render():
    out = [HEADER]
    for kind, (schema, _) in KINDS.items():
        out += [f"## kind = \"{kind}\"", ""] + render_markdown(schema, "", 3) + [""]
    from .studies.spec import SWEEP_SCHEMA
    out += ["## Sweep files (`python -m sim sweep`)", "", "See docs/studies.md.", ""] + render_markdown(SWEEP_SCHEMA, "", 3) + [""]
    return "\n".join(out)


if __name__ == "__main__":
    print(render(), end="")
