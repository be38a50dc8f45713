"""Layers: the dossier builds on the catalogue and the archive, never the other way round (not even inside a
function); what they need from it reaches them through hooks the dossier registers (catalogue.web.sections)."""

import ast
from pathlib import Path

import pytest

from catalogue.web.sections import model_sections
from dossier.browse import model_dossier

ROOT = Path(__file__).resolve().parents[2]


def _imported_modules(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


@pytest.mark.parametrize("app", ["catalogue", "archive"])
def test_lower_apps_never_import_the_dossier(app):
    sources = sorted((ROOT / app).rglob("*.py"))
    assert sources, f"no sources found under {app}/"
    offending = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in sources
        for line, module in _imported_modules(path)
        if module == "dossier" or module.startswith("dossier.")
    ]
    assert offending == []


def test_the_model_page_section_is_registered_by_the_dossier_app():
    assert [(s.name, s.template, s.context) for s in model_sections()] == [("dossier", "dossier/_dossier.html", model_dossier)]
