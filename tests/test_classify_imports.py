"""The classifier is pure: it imports neither the settings loader nor the CRM, sync or network code, and
the settings import the classifier's rule sections without loading the classifier itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import connector.classify

CLASSIFY = sorted(
    p.stem for p in Path(connector.classify.__file__).parent.glob("*.py") if p.stem != "__init__"
)


def loaded_after(code: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``code``."""
    done = subprocess.run(
        [sys.executable, "-c", f"import sys\n{code}\nprint('\\n'.join(sys.modules))"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return set(done.stdout.split())


def test_classify_modules_import_no_settings_loader_crm_or_sync() -> None:
    modules = loaded_after("\n".join(f"import connector.classify.{name}" for name in CLASSIFY))
    assert "connector.classify.classifier" in modules  # the imports ran
    outside = {m for m in modules if m.startswith(("connector.config", "connector.crm", "connector.sync"))}
    assert outside == set()


def test_settings_load_the_rule_sections_but_not_the_classifier() -> None:
    modules = loaded_after("import connector.config")
    assert "connector.classify.tier_settings" in modules
    assert {"polars", "connector.classify.classifier"} & modules == set()
