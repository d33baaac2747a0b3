"""The one shape every rule, the prover and every reporter share: a finding."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any


class Level(IntEnum):
    """How bad a finding is; `--fail-on` compares against these."""

    INFO = 1
    WARNING = 2
    ERROR = 3

    @classmethod
    def parse(cls, text: str) -> Level:
        names = {"info": cls.INFO, "warning": cls.WARNING, "warn": cls.WARNING, "error": cls.ERROR}
        try:
            return names[text.strip().lower()]
        except KeyError:
            raise ValueError(f"unknown level {text!r}: use info, warning or error") from None

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Finding:
    """One problem with one database object, printed the same way whatever found it."""

    rule: str
    level: Level
    category: str
    object: str
    message: str
    remediation: str
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "level": self.level.label,
            "category": self.category,
            "object": self.object,
            "message": self.message,
            "remediation": self.remediation,
            "metadata": self.metadata,
        }
