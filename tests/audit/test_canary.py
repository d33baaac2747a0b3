"""Canaries and forged values: the pure decisions the adversary's proof is made of."""

from __future__ import annotations

from backend.audit.prover.canary import AttackerInputs, Canaries, canary_value
from backend.audit.prover.shapes import Column

TOKEN = "cnryabc123"


def _column(name: str, base: str, category: str, labels: tuple[str, ...] = ()) -> Column:
    return Column(name, base, base, category, "b", labels, False, False, "", "", 4, True, True)


def test_victim_values_become_canaries_unless_the_attacker_holds_them():
    canaries = Canaries.of(
        TOKEN,
        [("public.notes", {"body": f"{TOKEN}7x3", "copied": f"{TOKEN}8x4", "n": 7_001_003})],
        [("public.notes", {"body": f"mine {TOKEN}8x4"})],
    )
    assert canaries.origin == {f"{TOKEN}7x3": "public.notes.body", "7001003": "public.notes.n"}


def test_labels_counts_and_sequence_values_are_never_canaries():
    canaries = Canaries.of(
        TOKEN, [("public.log", {"id": 48731, "status": "cancelled", "count": 12})], []
    )
    assert canaries.origin == {}


def test_canary_numbers_are_found_as_whole_numbers_only():
    canaries = Canaries({"7001003": "public.notes.n"})
    assert canaries.found('{"n": 7001003}') == ["7001003"]
    assert canaries.found('{"id": 170010031}') == []


def test_canary_is_described_with_the_column_it_came_from():
    canaries = Canaries({f"{TOKEN}7x3": "public.notes.body"})
    assert canaries.describe(f"error: {TOKEN}7x3") == (
        f"canary '{TOKEN}7x3' (coach B's public.notes.body)"
    )


def test_enum_columns_get_rows_per_label_not_a_canary():
    assert canary_value(_column("status", "status", "E", ("a", "b")), TOKEN, 1) is None
    assert canary_value(_column("notes", "text", "S"), TOKEN, 1) == f"{TOKEN}1x4"
    assert canary_value(_column("price_cents", "integer", "N"), TOKEN, 1) == 7_001_004


def test_forged_metadata_keeps_the_victims_values_and_fills_every_key_read_with_its_id():
    inputs = AttackerInputs(frozenset({"x-on-behalf-of"}), frozenset({"team", "full_name"}))
    forged = inputs.forged_metadata({"full_name": "B"}, "victim-id")
    assert forged == {"full_name": "B", "team": "victim-id"}
    assert inputs.forged_headers("victim-id") == {"x-on-behalf-of": "victim-id"}
