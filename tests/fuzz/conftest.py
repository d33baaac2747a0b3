"""Hypothesis profiles for the property-based tests.

`make test` runs the `ci` profile: few examples, so the whole suite stays
fast. `FUZZ_PROFILE=long` (and `FUZZ_EXAMPLES=N` to choose how many) runs
the same properties for as long as wanted; docs/reliability.md gives the
figures of such a run.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = {
    "deadline": None,
    # One database per test, shared by its examples on purpose: the data grows as a
    # coach's would, and the invariants are checked after every example.
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    "database": None,
}
settings.register_profile("ci", max_examples=25, **_COMMON)
settings.register_profile(
    "long", max_examples=int(os.environ.get("FUZZ_EXAMPLES", "2000")), **_COMMON
)
settings.load_profile(os.environ.get("FUZZ_PROFILE", "ci"))
