"""The dynamic proof's findings, declared like the static rules for reporters and docs."""

from __future__ import annotations

from backend.audit.findings import Level
from backend.audit.rules.base import Rule

ISOLATION_LEAK = Rule(
    id="isolation_leak",
    title="Isolation leak",
    level=Level.ERROR,
    category="isolation",
    description="Run as the impersonated principals, an attack that the table's class forbids "
    "succeeded: a coach read, wrote, moved or pointed at another coach's row, or anon reached "
    "a coach's data; or coach B's canary (or a result that changes with B's rows: a count, a "
    "sum) reached the attacker through a table, partition, view or read-only function; or a "
    "write of the attacker's own row (its triggers) changed B's rows or copied B's data into "
    "the attacker's. This is what no static rule can see: a policy that only looks "
    "tenant-bound.",
    remediation="Fix the policy (or grant, trigger or foreign key) of the table named; the "
    "message says which principal did what.",
)
ISOLATION_UNPROVEN = Rule(
    id="isolation_unproven",
    title="Isolation unproven",
    level=Level.WARNING,
    category="isolation",
    description="A denial counts only when the same statement succeeds for its rightful "
    "principal (the positive control); otherwise '0 rows' may be an accident of the fixture. "
    "This finding says the control failed, so the cell proves nothing, or that an expected "
    "right (the owner's own row, service_role's access) does not work.",
    remediation="Read the control's error: usually a grant without a working policy, or "
    "fixture values the generator can not guess (add them under [fixtures.<table>]).",
)
ISOLATION_FIXTURE_FAILED = Rule(
    id="isolation_fixture_failed",
    title="No throwaway rows for a table",
    level=Level.WARNING,
    category="isolation",
    description="The proof could not generate a valid row for the table from the catalog, so "
    "its isolation was not tested.",
    remediation="Add the values the generator can not guess to [fixtures.<table>] in audit.toml "
    "(SQL expressions per column).",
)
RPC_CROSS_TENANT = Rule(
    id="rpc_cross_tenant",
    title="RPC function crosses tenants",
    level=Level.ERROR,
    category="isolation",
    description="Called by coach A with coach B's ids (or by anon), a function succeeded and "
    "changed B's rows, linked A's rows to B's, or returned B's data (ids or canaries), or "
    "failed with an error that names B's data. Definer functions outside the exposed schemas "
    "that the API reaches are called as if exposed. Every function must check that each id "
    "it is given belongs to the caller.",
    remediation="Check ownership of every id parameter (coach_id = auth.uid()) and fail with a "
    "stable error before doing anything.",
)
RPC_PRIVILEGE_ESCALATION = Rule(
    id="rpc_privilege_escalation",
    title="RPC function raises privileges",
    level=Level.ERROR,
    category="isolation",
    description="Called by anon or by a plain signed-in user with the victim's ids (every "
    "id-like parameter pointed at the victim, role parameters at the highest role), a function "
    "changed a table that decides privileges (auth's tables, a table with a role column, a "
    "membership table), or rows its caller may not write itself. It lets a caller raise its own "
    "or anyone's privileges, create users, or do what the API refuses it.",
    remediation="Check, before any write, that the caller may do it (for example "
    "`if not has_role_on_account(account_id, 'owner') then raise …`), compare with "
    "`is distinct from` (a null role must not pass), or revoke execute from anon and "
    "authenticated.",
)
FUNCTION_EXECUTABLE_BY_ANON = Rule(
    id="function_executable_by_anon",
    title="Function executable by anon",
    level=Level.WARNING,
    category="isolation",
    description="Called as anon (the unauthenticated API key every browser has), a function of "
    "the exposed schema passed the privilege check: anon may EXECUTE it, usually through the "
    "default grant to PUBLIC, and audit.toml does not declare it public. Every function is "
    "called as anon; one that anon may not execute must be refused with 42501.",
    remediation="`revoke execute on function … from public, anon;` and grant it to the roles "
    'meant to call it; or declare it `[functions.<name>] access = "public"` in audit.toml '
    "when anon is meant to call it (it is still checked for returning or changing coaches' "
    "data).",
)

RULES = (
    ISOLATION_LEAK,
    RPC_PRIVILEGE_ESCALATION,
    ISOLATION_UNPROVEN,
    ISOLATION_FIXTURE_FAILED,
    RPC_CROSS_TENANT,
    FUNCTION_EXECUTABLE_BY_ANON,
)
