"""`backend db lint`: sqlfluff over every SQL file, squawk over the migrations."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from backend.db.project import Project


@dataclass(frozen=True)
class LintRun:
    tool: str
    returncode: int
    output: str


def _tool(name: str) -> str:
    """The tool from this environment's bin folder, else from PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if not found:
        raise FileNotFoundError(f"{name} is not installed (run `make install`)")
    return found


def sql_files(project: Project) -> list[Path]:
    folders = [
        project.migrations_dir,
        project.functions_dir,
        project.views_dir,
        project.policies_dir,
    ]
    files = [p for folder in folders if folder.is_dir() for p in sorted(folder.glob("*.sql"))]
    files.append(project.bootstrap_file)
    if project.seed_file.is_file():
        files.append(project.seed_file)
    return files


def run_lint(project: Project) -> list[LintRun]:
    files = [str(p.relative_to(project.root)) for p in sql_files(project)]
    runs = []
    sqlfluff = subprocess.run(
        [_tool("sqlfluff"), "lint", "--disable-progress-bar", *files],
        cwd=project.root,
        capture_output=True,
        text=True,
        check=False,
    )
    runs.append(LintRun("sqlfluff", sqlfluff.returncode, sqlfluff.stdout + sqlfluff.stderr))
    migrations = [
        str(p.relative_to(project.root)) for p in sorted(project.migrations_dir.glob("*.sql"))
    ]
    squawk = subprocess.run(
        [_tool("squawk"), "--assume-in-transaction", *migrations],
        cwd=project.root,
        capture_output=True,
        text=True,
        check=False,
    )
    runs.append(LintRun("squawk", squawk.returncode, squawk.stdout + squawk.stderr))
    return runs
