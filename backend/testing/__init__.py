"""Test support: databases, coaches and impersonation for pytest (see `plugin`)."""

from backend.testing.database import Coach, IsolationGuardError, TestDatabase

__all__ = ["Coach", "IsolationGuardError", "TestDatabase"]
