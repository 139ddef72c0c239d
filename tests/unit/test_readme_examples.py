"""Every `cockpit …` example in README.md parses with the real parser: a real command, real flags.

The examples are read from inline code and from sh code blocks; `[X]` (optional) is
read as X, `|` alternatives as the first one. Each `--theme` name the README gives
must be one the screens accept.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from cockpit.cli import COMMAND_MODULES, build_parser
from cockpit.cli.screens import THEMES

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_examples() -> list[str]:
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    lines = [line.strip() for block in blocks for line in block.splitlines()]
    inline = re.findall(r"`(cockpit [^`]+)`", re.sub(r"```.*?```", "", text, flags=re.S))
    return [line for line in lines + inline if line.startswith("cockpit ")]


def _argv(example: str) -> list[str]:
    example = re.split(r" >>? ", example)[0]  # a shell redirection is not the command's
    example = re.sub(r"\[([^\]=]+)\]", r"\1", example)  # [PATH] / [latency_spike]: optional, given here
    argv = shlex.split(example)[1:]
    return [a.split("|")[0] if "|" in a and not a.startswith("--") else a for a in argv]


def test_the_readme_has_examples_for_every_command_family() -> None:
    named = {_argv(e)[0] for e in readme_examples() if not _argv(e)[0].startswith("-")}
    commands = {c for names in COMMAND_MODULES.values() for c in names}
    assert len(named) >= 20 and named <= commands, named - commands


def test_every_readme_example_parses_with_the_real_parser() -> None:
    parser = build_parser()
    for example in readme_examples():
        argv = _argv(example)
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:
            if argv == ["--version"] and exc.code == 0:
                continue
            raise AssertionError(f"README example does not parse: {example!r} (argv {argv})") from exc
        assert callable(getattr(args, "func", None)), example


def test_readme_theme_names_are_accepted() -> None:
    text = README.read_text(encoding="utf-8")
    named = [n for group in re.findall(r"--theme\s+([\w|-]+)", text) for n in group.split("|")]
    assert named, "the README names no --theme"
    assert set(named) <= set(THEMES), set(named) - set(THEMES)
