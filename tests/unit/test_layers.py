"""The layers hold: import-linter's contracts (pyproject.toml) pass, and no two modules import each other."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp

from tests.import_graph import ROOT_PACKAGES, build_graph

ROOT = Path(__file__).resolve().parents[2]

# Type-only imports (`if TYPE_CHECKING:`) are not counted: they never run.


def test_the_graph_sees_every_installed_package() -> None:
    graph = build_graph()
    for package in ROOT_PACKAGES:
        assert package in graph.modules
    assert "cockpit.app.cockpit_app" in graph.modules and "cockpit.widgets.signal_row" in graph.modules


def test_no_two_modules_import_each_other() -> None:
    graph: grimp.ImportGraph = build_graph(exclude_type_checking_imports=True)
    mutual = {
        (module, imported)
        for module in graph.modules
        for imported in graph.find_modules_directly_imported_by(module)
        if module < imported and module in graph.find_modules_directly_imported_by(imported)
    }
    assert mutual == set()


def test_the_import_contracts_hold() -> None:
    result = subprocess.run([sys.executable, "-m", "tests.import_graph", "--no-logo"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
