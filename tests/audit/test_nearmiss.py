"""Safe near-misses: a definer function that checks authorization is at most info.

The proof calls every exposed function as anon and as a plain user with the
victim's ids; when each call was refused by the function's own check (or its
predicate answered no) and nothing changed, the "definer function executable"
warnings are lowered to info and say so. A call that failed for an accident of
the generated arguments proves nothing: the warnings stay.
"""

from __future__ import annotations

from backend.audit.findings import Level
from backend.audit.prover.nearmiss import LOWERED, seen
from backend.audit.prover.probe import Outcome
from tests.audit.conftest import audit_planted
from tests.audit.plants import PLANTS

GUARDED = "public.planted_guarded"


def _plant(body: str) -> str:
    return f"""
create function {GUARDED}(p_client_id uuid) returns void
language plpgsql security definer set search_path = '' as $$
begin
    {body}
end $$;
grant execute on function {GUARDED}(uuid) to anon, authenticated;
"""


# checks that the client is the caller's before doing anything
CHECKS = _plant(
    "if not exists (select from public.clients where id = p_client_id"
    " and coach_id = (select auth.uid())) then"
    " raise exception 'not your client' using errcode = '42501'; end if;"
)
# fails on every call for a reason that is not an authorization check
ACCIDENT = _plant("raise exception 'bad value' using errcode = '22023';")


def _levels(result) -> dict[str, tuple[Level, str]]:
    return {
        f.rule: (f.level, f.message)
        for f in result.findings
        if f.object.startswith(GUARDED) and f.rule in LOWERED
    }


def test_a_definer_function_that_checks_authorization_is_info(planted, config_with):
    planted.execute(CHECKS)
    levels = _levels(audit_planted(planted, config_with(), dynamic=True, focus=[GUARDED]))
    assert set(levels) == set(LOWERED)
    for level, message in levels.values():
        assert level == Level.INFO
        assert "the proof called it with the victim's ids and saw nothing change" in message
        assert "coach A refused (42501)" in message


def test_a_function_failing_for_its_arguments_stays_a_warning(planted, config_with):
    planted.execute(ACCIDENT)
    levels = _levels(audit_planted(planted, config_with(), dynamic=True, focus=[GUARDED]))
    assert set(levels) == set(LOWERED)
    assert {level for level, _ in levels.values()} == {Level.WARNING}


def test_without_the_proof_the_warnings_stay(planted, config_with):
    planted.execute(CHECKS)
    levels = _levels(audit_planted(planted, config_with(), dynamic=False))
    assert levels and {level for level, _ in levels.values()} == {Level.WARNING}


def test_only_a_refusal_or_a_no_proves_a_call_safe():
    assert seen(Outcome(0, "not yours", "42501"), returns_boolean=False, watched=False)
    assert seen(Outcome(0, "not found", "P0002"), returns_boolean=False, watched=False)
    # a foreign key or a bad value: the call never reached a check
    assert seen(Outcome(0, "fk", "23503"), returns_boolean=False, watched=True) is None
    assert seen(Outcome(0, "bad", "22023"), returns_boolean=False, watched=True) is None
    assert seen(Outcome(1, text="false"), returns_boolean=True, watched=False) == "answered false"
    assert seen(Outcome(1, text="true"), returns_boolean=True, watched=True) is None
    # nothing to watch: a call that returned nothing proves nothing
    assert seen(Outcome(1, text=""), returns_boolean=False, watched=False) is None
    assert seen(Outcome(1, text=""), returns_boolean=False, watched=True)
    assert seen(Outcome(1, text='{"id": 1}'), returns_boolean=False, watched=True) is None


# an update policy that does not pin the owner, on a table a trigger keeps the owner of
GUARD_OWNER = """
create function public.planted_keep_owner() returns trigger
language plpgsql set search_path = '' as $$
begin
    if new.coach_id is distinct from old.coach_id then
        raise exception 'the owner of a note does not change' using errcode = '42501';
    end if;
    return new;
end $$;
create trigger planted_keep_owner before update on public.planted_notes
    for each row execute function public.planted_keep_owner();
"""
NOTES_UPDATE = "public.planted_notes.planted_notes_update"


def _pinning(result) -> list[tuple[Level, str]]:
    return [
        (f.level, f.message)
        for f in result.findings
        if f.rule == "update_policy_not_pinned" and f.object == NOTES_UPDATE
    ]


def test_an_unpinned_update_policy_on_a_trigger_guarded_table_is_info(planted, config_with):
    planted.execute(PLANTS["update_policy_not_pinned"].sql + GUARD_OWNER)
    result = audit_planted(planted, config_with(), dynamic=True, focus=["public.planted_notes"])
    [(level, message)] = _pinning(result)
    assert level == Level.INFO
    assert "to move coach A's own row to coach B were denied" in message
    assert [f for f in result.findings if f.rule == "isolation_leak"] == []


def test_an_unpinned_update_policy_without_a_guard_stays_an_error(planted, config_with):
    planted.execute(PLANTS["update_policy_not_pinned"].sql)
    result = audit_planted(planted, config_with(), dynamic=True, focus=["public.planted_notes"])
    assert [level for level, _ in _pinning(result)] == [Level.ERROR]
