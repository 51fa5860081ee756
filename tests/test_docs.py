"""docs/case-format.md is generated from the schemas and must stay in sync."""
import os

from sim.docs_case_format import render


def test_case_format_doc_in_sync():
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "case-format.md")
    assert open(path).read() == render(), "regenerate: python -m sim.docs_case_format > docs/case-format.md"
