"""A TCP proxy in front of PostgreSQL that can cut a connection right after COMMIT got through.

The server receives the COMMIT and commits; its answer is dropped and both
sockets are closed, so the client sees a broken connection and can not know
whether the transaction committed: the failure the direct gateway must call
"outcome unknown".
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any

from psycopg.conninfo import conninfo_to_dict, make_conninfo

# The statement text psycopg sends to commit, NUL-terminated: in a simple query
# ('Q' message) or, in pipeline mode, in the extended protocol's Parse ('P').
COMMIT = b"COMMIT\x00"


def _upstream_address(url: str) -> tuple[int, Any]:
    params = conninfo_to_dict(url)
    host = str(params.get("host") or "/tmp")
    port = int(params.get("port") or 5432)
    if host.startswith("/"):
        return socket.AF_UNIX, f"{host}/.s.PGSQL.{port}"
    return socket.AF_INET, (host, port)


class CommitCutter:
    """Listens on a loopback port; `cut_after_commit_of(marker)` arms one cut: the first
    COMMIT of a transaction whose statements contained `marker`."""

    def __init__(self, url: str) -> None:
        self._family, self._address = _upstream_address(url)
        self._params = conninfo_to_dict(url)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._marker: bytes | None = None
        self.cuts = 0
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    @property
    def url(self) -> str:
        port = self._listener.getsockname()[1]
        params = {**self._params, "host": "127.0.0.1", "port": str(port)}
        return make_conninfo(**params)

    def cut_after_commit_of(self, marker: bytes) -> None:
        self._marker = marker

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.socket(self._family, socket.SOCK_STREAM)
            server.connect(self._address)
            cut = threading.Event()
            for target, args in (
                (self._to_server, (client, server, cut)),
                (self._to_client, (server, client, cut)),
            ):
                thread = threading.Thread(target=target, args=args, daemon=True)
                thread.start()
                self._threads.append(thread)

    def _to_server(
        self, client: socket.socket, server: socket.socket, cut: threading.Event
    ) -> None:
        marked = False
        try:
            while data := client.recv(65536):
                marked = marked or (self._marker is not None and self._marker in data)
                if COMMIT in data and marked:
                    self._marker = None
                    cut.set()  # before the COMMIT goes: its answer must never come back
                server.sendall(data)
        except OSError:
            pass

    def _to_client(
        self, server: socket.socket, client: socket.socket, cut: threading.Event
    ) -> None:
        try:
            while data := server.recv(65536):
                if cut.is_set():
                    self.cuts += 1
                    break
                client.sendall(data)
        except OSError:
            pass
        for sock in (client, server):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
