"""The project's import graph with app/, widgets/, screens/ and themes/ where they install: cockpit.app, ...

grimp (under import-linter) walks a root package's own folder and refuses a sub-package as a root. The
editable install maps cockpit.app to app/ (and so on), so `lint-imports` alone would never see the face.
`MappedPackageFinder` asks importlib where each root package lives, which follows the install's mapping.

`python -m tests.import_graph [lint-imports options]` is `lint-imports` with that finder (scripts/test.sh).
"""

from __future__ import annotations

import importlib.util
import sys
import tomllib
from pathlib import Path

import grimp
from grimp.adaptors.packagefinder import ImportLibPackageFinder
from grimp.application.config import settings as grimp_settings
from grimp.application.ports.filesystem import AbstractFileSystem

_PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
ROOT_PACKAGES: tuple[str, ...] = tuple(
    tomllib.loads(_PYPROJECT.read_text(encoding="utf-8"))["tool"]["importlinter"]["root_packages"])


class MappedPackageFinder(ImportLibPackageFinder):
    """A root package's folder as importlib finds it, sub-packages mapped elsewhere included."""

    def determine_package_directories(self, package_name: str, file_system: AbstractFileSystem) -> set[str]:
        spec = importlib.util.find_spec(package_name)
        if spec is None or not spec.submodule_search_locations:
            raise ValueError(f"Could not find package {package_name!r} in your Python path.")
        return set(spec.submodule_search_locations)


def use_mapped_packages() -> None:
    """Make grimp (and so import-linter) find root packages through importlib's mapping."""
    grimp_settings.configure(PACKAGE_FINDER=MappedPackageFinder())


def build_graph(*, exclude_type_checking_imports: bool = False) -> grimp.ImportGraph:
    """The import graph of every module the project installs."""
    use_mapped_packages()
    return grimp.build_graph(*ROOT_PACKAGES, exclude_type_checking_imports=exclude_type_checking_imports,
                             cache_dir=None)


def main() -> None:
    """`lint-imports` over the mapped packages (no cache: the roots overlap, and the graph builds in a second)."""
    from importlinter.cli import lint_imports_command

    use_mapped_packages()
    lint_imports_command(["--no-cache", *sys.argv[1:]])


if __name__ == "__main__":
    main()
