"""A test-only server that speaks the Upstash Redis REST protocol in front of a real Redis.

It lets the real `upstash-redis` and `upstash-ratelimit` code run their real
commands and Lua scripts against a real Redis, on loopback, with no account:

- `POST /` with a JSON array (`["EVAL", script, 2, ...]`) runs one command;
- `POST /pipeline` runs an array of commands, each answered on its own;
- `POST /multi-exec` runs them in one MULTI/EXEC transaction;
- `Authorization: Bearer <token>` is required (401 otherwise);
- with `Upstash-Encoding: base64` every string in a result is base64, except
  the status `OK`; integers and null stay as they are;
- answers are `{"result": ...}` or `{"error": "..."}`, in RESP2 shapes.

Scripts lose a leading `#!lua ...` line before EVAL: upstash-ratelimit's
scripts carry `flags=allow-key-locking`, which only Upstash accepts (Redis 7
rejects the flag, Redis 6.2 any shebang at all).

`delay` makes every answer late, to try a caller's timeout.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from types import TracebackType

    from redis import ConnectionPool

__all__ = ["UpstashAdapter"]

JsonValue = Any
_SCRIPT_COMMANDS = frozenset({"EVAL", "EVAL_RO", "SCRIPT"})


class UpstashAdapter:
    """Serves the Upstash REST protocol on 127.0.0.1 (a free port) until `stop()`."""

    def __init__(self, redis_url: str, *, token: str, delay: float = 0.0) -> None:
        from redis import ConnectionPool

        self.token = token
        self.delay = delay
        self._pool: ConnectionPool = ConnectionPool.from_url(redis_url, protocol=2)
        self._stopping = threading.Event()
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # how long `stop()` may wait for the loop
            name="upstash-adapter",
            daemon=True,
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> UpstashAdapter:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers sleeping on `delay`
        self._server.shutdown()
        self._server.server_close()
        self._pool.disconnect()

    def __enter__(self) -> UpstashAdapter:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- one request ------------------------------------------------------------

    def answer(self, path: str, authorization: str | None, body: bytes, *, encode: bool) -> _Reply:
        """The status and JSON body for one request."""
        if not self._authorized(authorization):
            return HTTPStatus.UNAUTHORIZED, {"error": "Unauthorized"}
        if self.delay and self._stopping.wait(self.delay):
            return HTTPStatus.SERVICE_UNAVAILABLE, {"error": "adapter stopping"}
        try:
            request = json.loads(body)
        except ValueError:
            return HTTPStatus.BAD_REQUEST, {"error": "ERR failed to parse the request body"}
        route = path.rstrip("/")
        if route == "":
            return self._single(request, encode=encode)
        if route in ("/pipeline", "/multi-exec"):
            if not isinstance(request, list) or not all(isinstance(c, list) for c in request):
                return HTTPStatus.BAD_REQUEST, {"error": "ERR expected an array of commands"}
            if route == "/pipeline":
                return HTTPStatus.OK, [self._single(c, encode=encode)[1] for c in request]
            return self._transaction(request, encode=encode)
        return HTTPStatus.NOT_FOUND, {"error": f"ERR unknown endpoint {path}"}

    def _authorized(self, authorization: str | None) -> bool:
        expected = f"Bearer {self.token}".encode()
        return authorization is not None and hmac.compare_digest(authorization.encode(), expected)

    def _single(self, command: JsonValue, *, encode: bool) -> _Reply:
        from redis.exceptions import RedisError

        try:
            args = _arguments(command)
        except ValueError as exc:
            return HTTPStatus.BAD_REQUEST, {"error": str(exc)}
        connection: Any = self._pool.get_connection()  # redis-py leaves it untyped
        try:
            connection.send_command(*args)
            result = connection.read_response()
        except RedisError as exc:
            return HTTPStatus.BAD_REQUEST, {"error": _error_text(exc)}
        finally:
            self._pool.release(connection)
        return HTTPStatus.OK, {"result": _encoded(result, encode=encode)}

    def _transaction(self, commands: list[JsonValue], *, encode: bool) -> _Reply:
        from redis.exceptions import RedisError, ResponseError

        try:
            batch = [_arguments(command) for command in commands]
        except ValueError as exc:
            return HTTPStatus.BAD_REQUEST, {"error": str(exc)}
        connection: Any = self._pool.get_connection()  # redis-py leaves it untyped
        try:
            connection.send_command("MULTI")
            connection.read_response()
            for args in batch:
                connection.send_command(*args)
                with contextlib.suppress(ResponseError):  # an error here makes EXEC abort
                    connection.read_response()
            connection.send_command("EXEC")
            results = connection.read_response()
        except RedisError as exc:
            return HTTPStatus.BAD_REQUEST, {"error": _error_text(exc)}
        finally:
            self._pool.release(connection)
        return HTTPStatus.OK, [
            {"error": _error_text(item)}
            if isinstance(item, ResponseError)
            else {"result": _encoded(item, encode=encode)}
            for item in results
        ]


_Reply = tuple[HTTPStatus, JsonValue]


def _arguments(command: JsonValue) -> list[str | int | float]:
    """The Redis arguments of one JSON command, with any script shebang removed."""
    if not isinstance(command, list) or not command:
        raise ValueError("ERR a command is a non-empty array")
    args: list[str | int | float] = []
    for item in command:
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            raise ValueError("ERR command arguments must be strings or numbers")
        args.append(item)
    name = str(args[0]).upper()
    if name in _SCRIPT_COMMANDS and len(args) > 1:
        script_at = 2 if name == "SCRIPT" else 1
        script = args[script_at] if len(args) > script_at else None
        if isinstance(script, str):
            args[script_at] = _without_shebang(script)
    return args


def _without_shebang(script: str) -> str:
    """Drop a leading `#!lua ...` line, which only Upstash (and Redis 7, without flags) accepts."""
    stripped = script.lstrip()
    return stripped.partition("\n")[2] if stripped.startswith("#!") else script


def _encoded(value: object, *, encode: bool) -> JsonValue:
    """A Redis reply as Upstash writes it in JSON."""
    if value is None or isinstance(value, int):
        return value
    if isinstance(value, bytes):
        if not encode or value == b"OK":
            return value.decode("utf-8", errors="replace")
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, str):
        return _encoded(value.encode(), encode=encode)
    if isinstance(value, list | tuple):
        return [_encoded(item, encode=encode) for item in value]
    if isinstance(value, Exception):
        return _error_text(value)
    return _encoded(str(value).encode(), encode=encode)


def _error_text(exc: BaseException) -> str:
    """Redis's own error line (redis-py moves known codes like "ERR" into `status_code`)."""
    from redis.exceptions import ResponseError

    if not isinstance(exc, ResponseError):
        return f"ERR {exc}"
    code = getattr(exc, "status_code", None)
    return f"{code} {exc}" if code else str(exc)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 256  # a burst of clients must not overflow the listen backlog

    def __init__(self, adapter: UpstashAdapter) -> None:
        self.adapter = adapter
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the httpx client expects
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stalls
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        encode = (self.headers.get("Upstash-Encoding") or "").lower() == "base64"
        status, payload = self.server.adapter.answer(
            self.path, self.headers.get("Authorization"), body, encode=encode
        )
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up waiting: nothing to answer

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: pytest shows failures, not every request."""
