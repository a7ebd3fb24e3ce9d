"""The plain install (`pip install -e .`, no dev extras) runs both demos, and `sync` never loads the
sandbox. Each command runs in a fresh interpreter where `openapi_core` (a dev extra) cannot be imported."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.cli.sandbox_cmds import FAULT_PROFILES
from connector.sandbox.faults import PROFILES
from tests.sync.conftest import Org, make_org

WITHOUT_DEV_EXTRAS = (
    "import sys\n"
    "sys.modules['openapi_core'] = None  # as on a plain install: importing it raises ImportError\n"
    "from connector.cli import app\n"
    "try:\n"
    "    app(sys.argv[1:])\n"
    "finally:\n"
    "    loaded = sorted(m for m, v in sys.modules.items() if v and m.startswith(('connector.sandbox', 'openapi')))\n"
    "    print('LOADED=' + ','.join(loaded), file=sys.stderr)\n"
)


def tiersync(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_DEV_EXTRAS, *args],
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, **(env or {})},
        check=False,
    )


def loaded(stderr: str) -> list[str]:
    line = next(line for line in stderr.splitlines() if line.startswith("LOADED="))
    return [m for m in line.removeprefix("LOADED=").split(",") if m]


def test_hubspot_demo_runs_without_openapi_core(tmp_path: Path) -> None:
    done = tiersync("demo", "--crm", "hubspot", "--accounts", "60", "--out", str(tmp_path / "demo"))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "ModuleNotFoundError" not in done.stderr
    assert (tmp_path / "demo" / "report.html").is_file()
    assert "openapi_core" not in loaded(done.stderr)


def test_hubspot_sandbox_serve_runs_without_openapi_core_and_stops_on_sigterm(tmp_path: Path) -> None:
    code = WITHOUT_DEV_EXTRAS
    args = ["sandbox", "serve", "--crm", "hubspot", "--accounts", "30", "--workdir", str(tmp_path)]
    process = subprocess.Popen(
        [sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:  # bounded: the process prints a handful of lines, then waits
            lines.append(line)
            if "Ctrl-C to stop" in line:
                break
        info = json.loads((tmp_path / "sandbox-connection.json").read_text(encoding="utf-8"))
        assert info["hubspot"]["host"].startswith("https://127.0.0.1:")  # HTTPS, as HubSpot
        assert Path(info["hubspot"]["ca_bundle"]).is_file()
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert any(line.startswith("HubSpot:") for line in lines), "".join(lines)
    assert process.returncode == 0, err
    assert "Traceback" not in err


def test_the_cli_names_every_sandbox_fault_profile() -> None:
    assert tuple(PROFILES) == FAULT_PROFILES


@pytest.fixture
def hubspot_org(tmp_path: Path) -> Iterator[Org]:
    yield from make_org(tmp_path, 40, crm="hubspot")


def test_sync_never_imports_the_sandbox(hubspot_org: Org, tmp_path: Path) -> None:
    config = hubspot_org.write_config(tmp_path)
    done = tiersync("--config", str(config), "sync", "--quiet", env=hubspot_org.cli_env())
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["accounts_read"] == 40
    assert loaded(done.stderr) == []


DEV_ONLY_MODULES = frozenset(
    {
        "openapi_core",
        "werkzeug",
        "pytest",
        "_pytest",
        "pytest_timeout",
        "hypothesis",
        "psutil",
        "mypy",
        "ruff",
        "selenium",
    }
)
"""Top-level modules of the dev extras (openapi-core brings werkzeug): none may be imported by the
package, at any depth, or a plain install would hold a module that cannot load."""


def test_no_module_of_the_package_imports_a_dev_only_package() -> None:
    import ast

    offenders = []
    for path in sorted((Path(__file__).parents[1] / "connector").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and node.level == 0
                else []
            )
            offenders += [f"{path}: {n}" for n in names if n.split(".")[0] in DEV_ONLY_MODULES]
    assert offenders == []


def test_every_dev_extra_is_on_the_dev_only_list() -> None:
    """A dev extra added to pyproject.toml is checked above too (stub-only ``types-*`` and ``*-stubs``
    have no module)."""
    import re
    import tomllib

    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    extras = pyproject["project"]["optional-dependencies"]["dev"]
    names = {re.split(r"[<>=!~\[; ]", e, maxsplit=1)[0].lower() for e in extras}
    modules = {n.replace("-", "_") for n in names if not n.startswith("types-") and not n.endswith("-stubs")}
    assert modules and modules <= DEV_ONLY_MODULES, modules - DEV_ONLY_MODULES
