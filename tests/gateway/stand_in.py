"""A stand-in for Supabase's API (its gateway and PostgREST) in front of the real test database.

No PostgREST binary runs on these machines, so this httpx handler plays its
part for the requests postgrest-py sends: it checks the API key and the
bearer token, runs the request in one transaction impersonating the caller
exactly as PostgREST does (`backend.db.impersonation`) on the real
PostgreSQL, and answers with PostgREST's JSON. The SQL is the direct
gateway's own compiler; what this file adds is PostgREST's HTTP side.

Every status and error body here follows PostgREST's source,
`src/PostgREST/Error.hs` (v12.2 and v13.0, where they agree; v13.0 where
they differ):

- a database error with SQLSTATE c: `{"code": c, "message", "details", "hint"}`
  (`instance ErrorBody SQL.CommandError`), its status from `mapSQLtoHTTP`
  (`pg_error_status` below): 42501 is 401 for anon and 403 signed in
  (`if authed then status403 else status401`); 23503 and 23505 are 409;
  23P01, the CB class, P0001 and 22xxx fall to the `_ -> status400` default;
  40001, 57014 and P0002 are 500 (`'4':'0'`, `'5':'7'`, `'P':'0'`); 42883
  and 42P01 are 404; PTxyz is HTTP xyz (`'P':'T':n`, as the database's
  write limits raise PT429), the body keeping the code PTxyz;
- an object requested (`Accept: application/vnd.pgrst.object+json`) and n ≠ 1
  rows: 406, PGRST116, "Cannot coerce the result to a single JSON object",
  details "The result contains n rows" (`SingularityError`);
- an unknown function or argument names: 404, PGRST202 (`NoRpc`);
- a bearer that is not a JWT: 401, PGRST301, "Expected 3 parts in JWT; got n"
  (`JwtDecodeErr UnexpectedParts`); a bad signature: 401, PGRST301, "JWT
  cryptographic operation failed" (`BadCrypto`);
- an expired token: 401, PGRST303, "JWT expired" (`JwtClaimsErr JWTExpired`;
  v12.2 answered PGRST301).

Supabase's API gateway in front of PostgREST (not in Error.hs): an unknown
`apikey` is 401 `{"message": "Invalid API key"}`; an `sb_publishable_…` or
`sb_secret_…` key without a bearer becomes the anon or service_role token.
PostgREST's `db-max-rows` is 1,000, as on Supabase and in supabase/config.toml.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl
from uuid import UUID

import httpx
import jwt
import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from backend.db.impersonation import Principal, impersonate
from backend.gateway.base import Delete, Filter, Insert, Order, Rpc, Select, Update
from backend.gateway.direct import _SIGNATURES_SQL, _compile, _signature

URL = "https://proj.supabase.co"
JWT_SECRET = "a-test-jwt-secret-of-at-least-32-characters"
PUBLISHABLE_KEY = "sb_publishable_4f2b7c1a9d8e6f5a3b2c1d0e"
SECRET_KEY = "sb_secret_9a8b7c6d5e4f3a2b1c0d9e8f"
MAX_ROWS = 1000
OBJECT = "application/vnd.pgrst.object+json"


def token(claims: Mapping[str, Any], *, expires_in: int = 3600) -> str:
    now = int(time.time())
    return jwt.encode({"iat": now, "exp": now + expires_in, **claims}, JWT_SECRET, "HS256")


ANON_KEY = token({"role": "anon", "iss": "supabase"}, expires_in=10**8)
SERVICE_KEY = token({"role": "service_role", "iss": "supabase"}, expires_in=10**8)


def user_token(user_id: UUID | str, email: str, *, expires_in: int = 3600) -> str:
    claims = {"sub": str(user_id), "email": email, "role": "authenticated", "aud": "authenticated"}
    return token(claims, expires_in=expires_in)


def pg_error_status(sqlstate: str, message: str, *, authed: bool) -> int:
    """`mapSQLtoHTTP` of Error.hs, for the SQLSTATEs this project's database raises."""
    exact = {
        "23503": 409,
        "23505": 409,
        "25006": 405,
        "53400": 500,
        "57P01": 503,
        "P0001": 400,
        "42883": 404,
        "42P01": 404,
        "42P17": 500,
        "42501": 403 if authed else 401,
    }
    if sqlstate == "22023" and message.startswith("role") and message.endswith("does not exist"):
        return 401
    if sqlstate in exact:
        return exact[sqlstate]
    if sqlstate.startswith("PT") and sqlstate[2:].isdigit():
        return int(sqlstate[2:])
    by_class = {
        "08": 503, "09": 500, "0L": 403, "0P": 403, "25": 500, "28": 403, "2D": 500,
        "38": 500, "39": 500, "3B": 500, "40": 500, "53": 503, "54": 500, "55": 500,
        "57": 500, "58": 500, "F0": 500, "HV": 500, "P0": 500, "XX": 500,
    }  # fmt: skip
    return by_class.get(sqlstate[:2], 400)


class Refusal(Exception):
    def __init__(self, status: int, body: Mapping[str, Any], headers: Mapping[str, str] = {}):
        super().__init__(body.get("message"))
        self.status, self.body, self.headers = status, dict(body), dict(headers)


def pgrst(status: int, code: str, message: str, details: str | None = None, **kw: Any) -> Refusal:
    return Refusal(
        status, {"code": code, "message": message, "details": details, "hint": None}, **kw
    )


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"not JSON: {value!r}")


def _reply(status: int, body: Any, headers: Mapping[str, str] | None = None) -> httpx.Response:
    content = json.dumps(body, default=_json_default).encode()
    return httpx.Response(
        status, content=content, headers={"content-type": "application/json", **(headers or {})}
    )


def _split_list(raw: str) -> list[str]:
    """`(a,"b,c")` as postgrest-py writes an `in` list."""
    items, current, quoted = [], "", False
    for char in raw.strip()[1:-1]:
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            items.append(current)
            current = ""
        else:
            current += char
    return [*items, current] if raw.strip() != "()" else []


def parse_filters(params: list[tuple[str, str]]) -> list[Filter]:
    filters = []
    for column, raw in params:
        if column in ("select", "order", "limit", "offset", "columns", "or"):
            continue
        op, _, value = raw.partition(".")
        if op == "in":
            filters.append(Filter(column, "in", _split_list(value)))
        elif op == "is":
            filters.append(
                Filter(column, "is", {"null": None, "true": True, "false": False}[value])
            )
        else:
            filters.append(Filter(column, op, value))  # type: ignore[arg-type]
    return filters


def parse_order(params: list[tuple[str, str]]) -> list[Order]:
    raw = dict(params).get("order")
    orders = []
    for item in raw.split(",") if raw else []:
        column, _, direction = item.partition(".")
        orders.append(Order(column, descending=direction.startswith("desc")))
    return orders


def _split_top(raw: str) -> list[str]:
    """Split on the commas outside parentheses and double quotes."""
    parts, current, depth, quoted, escaped = [], "", 0, False, False
    for char in raw:
        if escaped:
            current, escaped = current + char, False
            continue
        if char == "\\" and quoted:
            current, escaped = current + char, True
            continue
        if char == '"':
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        elif not quoted and depth == 0 and char == ",":
            parts.append(current)
            current = ""
            continue
        current += char
    return [*parts, current]


def _unquote(value: str) -> str:
    if value.startswith('"') and value.endswith('"'):
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value


def parse_keyset(params: list[tuple[str, str]], order: list[Order]) -> list[str] | None:
    """The keyset position of an `or` filter shaped as the Supabase gateway writes one:
    `or=(a.gt.x,and(a.eq.x,b.gt.y))` for "after (x, y)" in the order `a, b`."""
    raw = dict(params).get("or")
    if raw is None:
        return None
    alternatives = _split_top(raw.strip()[1:-1])
    last = alternatives[-1]
    conditions = _split_top(last[4:-1]) if last.startswith("and(") else [last]
    if len(alternatives) != len(order) or len(conditions) != len(order):
        raise ValueError(f"the stand-in reads only keyset or-filters, not {raw!r}")
    values = []
    for condition, o in zip(conditions, order, strict=True):
        column, op, value = condition.split(".", 2)
        expected = "eq" if o is not order[-1] else ("lt" if o.descending else "gt")
        if column != o.column or op != expected:
            raise ValueError(f"the stand-in reads only keyset or-filters, not {raw!r}")
        values.append(_unquote(value))
    return values


@dataclass
class PostgrestOnDatabase:
    """PostgREST (and Supabase's API gateway) in front of the database at `url`."""

    url: str
    requests: list[httpx.Request] = field(default_factory=list)
    lose_next_answer: bool = False  # commit, then time out instead of answering (once)
    _conn: psycopg.Connection[Any] | None = None

    @property
    def conn(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.url, row_factory=dict_row)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        try:
            principal = self._authenticate(request)
            response = self._run(request, principal)
        except Refusal as refusal:
            return _reply(refusal.status, refusal.body, refusal.headers)
        if self.lose_next_answer:
            self.lose_next_answer = False
            raise httpx.ReadTimeout("the answer never came", request=request)
        return response

    # Supabase's API gateway, then PostgREST's JWT checks
    def _authenticate(self, request: httpx.Request) -> Principal:
        apikey = request.headers.get("apikey", "")
        if apikey not in (ANON_KEY, SERVICE_KEY, PUBLISHABLE_KEY, SECRET_KEY):
            raise Refusal(401, {"message": "Invalid API key"})
        authorization = request.headers.get("authorization")
        if authorization is None:
            return Principal.service() if apikey == SECRET_KEY else Principal.anon()
        bearer = authorization.removeprefix("Bearer ").strip()
        if not bearer:
            raise pgrst(401, "PGRST301", "Empty JWT is sent in Authorization header")
        parts = len(bearer.split("."))
        if parts != 3:
            raise pgrst(401, "PGRST301", f"Expected 3 parts in JWT; got {parts}")
        try:
            claims = jwt.decode(
                bearer, JWT_SECRET, algorithms=["HS256"], options={"verify_aud": False}
            )
        except jwt.ExpiredSignatureError:
            raise pgrst(401, "PGRST303", "JWT expired") from None
        except jwt.InvalidTokenError:
            raise pgrst(401, "PGRST301", "JWT cryptographic operation failed") from None
        return Principal(str(claims.get("role", "anon")), claims)

    def _run(self, request: httpx.Request, principal: Principal) -> httpx.Response:
        path = request.url.path.removeprefix("/rest/v1")
        params = parse_qsl(request.url.query.decode(), keep_blank_values=True)
        headers = {k.lower(): v for k, v in request.headers.items()}
        conn = self.conn
        try:
            with conn.transaction():
                if request.method == "GET":
                    conn.execute("set transaction read only")
                impersonate(conn, principal, method=request.method, path=path, headers=headers)
                if path.startswith("/rpc/"):
                    body = json.loads(request.content or b"{}")
                    return self._rpc(conn, path.removeprefix("/rpc/"), body)
                return self._table(conn, request, path.strip("/"), params, headers)
        except psycopg.Error as exc:
            diag = exc.diag
            sqlstate = exc.sqlstate or "XX000"
            message = diag.message_primary or str(exc)
            body = {
                "code": sqlstate,
                "message": message,
                "details": diag.message_detail,
                "hint": diag.message_hint,
            }
            authed = principal.role != "anon"
            raise Refusal(pg_error_status(sqlstate, message, authed=authed), body) from exc

    def _rpc(self, conn: psycopg.Connection[Any], function: str, args: dict[str, Any]) -> Any:
        signatures = [_signature(r) for r in conn.execute(_SIGNATURES_SQL, ("public", function))]
        chosen = [s for s in signatures if s.accepts(list(args))]
        if not chosen:
            names = ", ".join(sorted(args))
            raise pgrst(
                404,
                "PGRST202",
                f"Could not find the function public.{function}({names}) in the schema cache",
                f"Searched for the function public.{function} with parameters {names} or with"
                " a single unnamed json/jsonb parameter, but no matches were found in the"
                " schema cache.",
            )
        kind = conn.execute(
            "select p.proretset as set, t.typtype = 'c' as composite from pg_proc p"
            " join pg_type t on t.oid = p.prorettype"
            " where p.pronamespace = 'public'::regnamespace and p.proname = %s",
            (function,),
        ).fetchone()
        assert kind is not None
        returns = "rows" if kind["set"] else "row" if kind["composite"] else "scalar"
        query, values = _compile(Rpc(function, args, returns=returns), chosen[0])
        rows = conn.execute(query, values).fetchall()
        if returns == "rows":
            return _reply(200, rows)
        if returns == "row":
            return _reply(200, rows[0] if rows else None)
        return _reply(200, rows[0]["value"] if rows else None)

    def _table(
        self,
        conn: psycopg.Connection[Any],
        request: httpx.Request,
        table: str,
        params: list[tuple[str, str]],
        headers: Mapping[str, str],
    ) -> httpx.Response:
        filters = parse_filters(params)
        if request.method == "GET":
            return self._select(conn, table, filters, params, headers)
        write: Insert | Update | Delete
        if request.method == "POST":
            write = Insert(table, json.loads(request.content))
        elif request.method == "PATCH":
            write = Update(table, json.loads(request.content), filters)
        elif request.method == "DELETE":
            write = Delete(table, filters)
        else:
            raise pgrst(405, "PGRST117", f"Unsupported HTTP method: {request.method}")
        query, values = _compile(write, None)
        rows = conn.execute(query, values).fetchall()
        return _reply(201 if request.method == "POST" else 200, rows)

    def _select(
        self,
        conn: psycopg.Connection[Any],
        table: str,
        filters: list[Filter],
        params: list[tuple[str, str]],
        headers: Mapping[str, str],
    ) -> httpx.Response:
        given = dict(params)
        offset = int(given.get("offset", 0))
        limit = min(int(given["limit"]), MAX_ROWS) if "limit" in given else MAX_ROWS
        order = parse_order(params)
        after = parse_keyset(params, order)
        query, values = _compile(Select(table, filters, order, after=after), None)
        page = query + sql.SQL(" limit {} offset {}").format(
            sql.Literal(limit), sql.Literal(offset)
        )
        rows = conn.execute(page, values).fetchall()
        if headers.get("accept") == OBJECT:
            if len(rows) != 1:
                raise pgrst(
                    406,
                    "PGRST116",
                    "Cannot coerce the result to a single JSON object",
                    f"The result contains {len(rows)} rows",
                )
            return _reply(200, rows[0])
        total = "*"
        if "count=exact" in headers.get("prefer", ""):
            counted = sql.SQL("select count(*) as n from ({}) as q").format(query)
            count = conn.execute(counted, values).fetchone()
            total = str(count["n"] if count else 0)
        shown = f"{offset}-{offset + len(rows) - 1}" if rows else "*"
        partial = total != "*" and len(rows) < int(total)
        return _reply(206 if partial else 200, rows, {"content-range": f"{shown}/{total}"})
