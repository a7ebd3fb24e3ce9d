"""Every public class and function of the sync engine and the CRM seam says what a caller may rely on.

A newcomer reads ``connector/sync`` and the adapter seam first; an undocumented public name there is
a gap that grows back one method at a time, so the scan runs as a test. Public means: a name without
a leading underscore, at module level or in a public class (nested helpers inside functions are
private by construction).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "connector"
SEAM_FILES = [*sorted((ROOT / "sync").glob("*.py")), ROOT / "crm" / "base.py", ROOT / "crm" / "cleanup.py"]
SEAM_CLASSES = {
    ROOT / "crm" / "salesforce" / "adapter.py": "SalesforceAdapter",
    ROOT / "crm" / "salesforce" / "cleanup.py": "SalesforceCleanup",
    ROOT / "crm" / "hubspot" / "adapter.py": "HubSpotAdapter",
    ROOT / "crm" / "hubspot" / "cleanup.py": "HubSpotCleanup",
}
"""The adapters' classes that implement the seam; the rest of an adapter is its own business."""

Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


def undocumented(body: list[ast.stmt], prefix: str = "") -> list[str]:
    """Qualified names of public definitions in ``body`` (and public classes' bodies) without a docstring."""
    missing: list[str] = []
    for node in body:
        if not isinstance(node, Definition) or node.name.startswith("_"):
            continue
        if ast.get_docstring(node) is None:
            missing.append(prefix + node.name)
        if isinstance(node, ast.ClassDef):
            missing += undocumented(node.body, f"{prefix}{node.name}.")
    return missing


def parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def test_the_scan_finds_a_missing_docstring_at_every_level() -> None:
    source = ast.parse(
        "def f(): pass\n"
        "def _private(): pass\n"
        "class C:\n"
        "    '''Documented.'''\n"
        "    def m(self): ...\n"
        "    def _h(self): ...\n"
        "    @property\n"
        "    def p(self):\n"
        "        '''Documented.'''\n"
        "        def inner(): pass\n"
        "class _Hidden:\n"
        "    def m(self): ...\n"
    )
    assert undocumented(source.body) == ["f", "C.m"]


@pytest.mark.parametrize("path", SEAM_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_public_name_of_the_sync_package_and_the_seam_has_a_docstring(path: Path) -> None:
    assert undocumented(parsed(path).body) == []


@pytest.mark.parametrize("path", sorted(SEAM_CLASSES), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_adapters_seam_classes_document_every_public_method(path: Path) -> None:
    (cls,) = [n for n in parsed(path).body if isinstance(n, ast.ClassDef) and n.name == SEAM_CLASSES[path]]
    assert undocumented([cls]) == []
