"""Where a project's SQL lives: migrations, declarative functions, views and policies."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_PACKAGE_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Project:
    root: Path

    @property
    def migrations_dir(self) -> Path:
        return self.root / "migrations"

    @property
    def functions_dir(self) -> Path:
        return self.root / "functions"

    @property
    def views_dir(self) -> Path:
        return self.root / "views"

    @property
    def policies_dir(self) -> Path:
        return self.root / "policies"

    @property
    def bootstrap_file(self) -> Path:
        return self.root / "supabase" / "bootstrap.sql"

    @property
    def bundle_dir(self) -> Path:
        return self.root / "supabase" / "migrations"

    @property
    def seed_file(self) -> Path:
        return self.root / "supabase" / "seed.sql"

    @property
    def cache_dir(self) -> Path:
        configured = os.environ.get("BACKEND_CACHE_DIR")
        return Path(configured) if configured else self.root / ".cache"


def find_project(start: Path | None = None) -> Project:
    """The nearest folder at or above `start` (the working directory) holding `migrations/`.

    Falls back to the checkout this package was imported from, so that the
    command line works from any folder of the repository.
    """
    configured = os.environ.get("BACKEND_PROJECT_DIR")
    if configured:
        return Project(Path(configured).resolve())
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "migrations").is_dir() and (folder / "supabase").is_dir():
            return Project(folder)
    return Project(_PACKAGE_ROOT)
