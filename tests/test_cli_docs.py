"""The README's command table and the command line name the same commands, and only those."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer

from backend.cli import app

ROOT = Path(__file__).resolve().parents[1]


def _commands(group: Any, prefix: str = "backend") -> set[str]:
    """Every leaf command of a (typer's own click) group, as typed on the command line."""
    names: set[str] = set()
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            names |= _commands(command, f"{prefix} {name}")
            if getattr(command, "invoke_without_command", False):  # `backend bench` runs too
                names.add(f"{prefix} {name}")
        else:
            names.add(f"{prefix} {name}")
    return names


def _readme_commands() -> set[str]:
    table = (ROOT / "README.md").read_text().split("## Command line", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for cell in re.findall(r"^\| (.+?) \|", table, re.M):
        for quoted in re.findall(r"`(backend [^`]*)`", cell):
            words = [w for w in quoted.split() if re.fullmatch(r"[a-z]+", w)]
            names.add(" ".join(words))
    return names


def test_every_command_is_in_the_readme_and_every_readme_command_exists():
    assert _readme_commands() == _commands(typer.main.get_command(app))
