"""PgBouncer for tests and the pooler benchmark: Debian's package, started in transaction mode.

Supabase's pooler (Supavisor) in transaction mode, port 6543, hands each
transaction whichever server connection is free; PgBouncer in
`pool_mode = transaction` has the same protocol constraints (no session state
and no server-side prepared statements from one transaction to the next), so
the gateway is proven behind it.

PgBouncer is not a Python wheel. `provision()` takes it from the system when
`pgbouncer` is on PATH, else downloads Debian's package without root
(`apt-get download pgbouncer libc-ares2`, `dpkg -x`) into
`<cache>/tools/pgbouncer` and runs it with that folder's libraries.
`pgbouncer` (the session fixture) starts one on a free loopback port in front
of the test database server, trust authentication, every database name passed
through. Outside CI a machine without apt-get skips the tests that need it,
saying why; with CI=true it fails them instead.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from psycopg import conninfo

from backend.db.project import find_project
from backend.testing.processes import free_port, stop_process

__all__ = ["PgBouncer", "PgBouncerBinary", "PgBouncerUnavailable", "pgbouncer", "provision"]

DEBIAN_PACKAGES = ("pgbouncer", "libc-ares2")
_START_TIMEOUT = 10.0


class PgBouncerUnavailable(Exception):
    """PgBouncer is not installed and could not be provisioned; the message says why."""


@dataclass(frozen=True)
class PgBouncerBinary:
    executable: Path
    library_dir: Path | None = None

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.library_dir is not None:
            env["LD_LIBRARY_PATH"] = str(self.library_dir)
        return env


def provision(cache_dir: Path | None = None) -> PgBouncerBinary:
    """PgBouncer from PATH, from the cache, or from Debian's package into the cache."""
    on_path = shutil.which("pgbouncer")
    if on_path:
        return PgBouncerBinary(Path(on_path))
    root = (cache_dir or find_project().cache_dir) / "tools" / "pgbouncer"
    binary = PgBouncerBinary(
        root / "usr" / "sbin" / "pgbouncer", root / "usr" / "lib" / "x86_64-linux-gnu"
    )
    if binary.executable.exists():
        return binary
    if shutil.which("apt-get") is None or shutil.which("dpkg") is None:
        raise PgBouncerUnavailable(
            "PgBouncer is not installed and apt-get/dpkg are not available to fetch"
            " Debian's package (install pgbouncer, or run on Debian/Ubuntu)"
        )
    root.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root.parent) as work:
        _download_and_unpack(Path(work), Path(work) / "root")
        try:
            os.rename(Path(work) / "root", root)
        except OSError:
            if not binary.executable.exists():  # not another process winning the race
                raise
    return binary


def _download_and_unpack(work: Path, target: Path) -> None:
    result = subprocess.run(
        ["apt-get", "download", *DEBIAN_PACKAGES],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise PgBouncerUnavailable(f"apt-get download {' '.join(DEBIAN_PACKAGES)}: {reason}")
    for package in sorted(work.glob("*.deb")):
        subprocess.run(["dpkg", "-x", str(package), str(target)], check=True, timeout=120)
    target.chmod(0o755)


@dataclass(frozen=True)
class Upstream:
    """Where PgBouncer's server connections go: a host (or socket folder), port, user."""

    host: str
    port: int
    user: str
    password: str

    @classmethod
    def of(cls, url: str) -> Upstream:
        params = conninfo.conninfo_to_dict(url)
        return cls(
            host=str(params.get("host") or "/var/run/postgresql"),
            port=int(params.get("port") or 5432),
            user=str(params.get("user") or "postgres"),
            password=str(params.get("password") or ""),
        )


class PgBouncer:
    """One PgBouncer process on 127.0.0.1, every database of `upstream` behind it."""

    def __init__(
        self,
        binary: PgBouncerBinary,
        upstream_url: str,
        *,
        pool_mode: str = "transaction",
        server_connections: int = 20,
        max_clients: int = 1000,
    ) -> None:
        self.upstream = Upstream.of(upstream_url)
        self.pool_mode = pool_mode
        self.server_connections = server_connections
        self.port = free_port()
        self._folder = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
        self._folder.chmod(0o755)  # read by the unprivileged user PgBouncer runs as under root
        config = self._write_config(max_clients)
        command = [str(binary.executable), *self._as_user(), str(config)]
        # Its log goes to a file: a pipe nobody reads fills up, and PgBouncer, blocked
        # on writing its log, would stop relaying every client.
        self._log = self._folder / "pgbouncer.log"
        with self._log.open("wb") as log:
            self._process = subprocess.Popen(
                command, env=binary.environment(), stdout=log, stderr=subprocess.STDOUT
            )
        self._wait_until_listening()

    def url(self, database: str) -> str:
        user = self.upstream.user
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}?sslmode=disable"

    def stop(self) -> None:
        stop_process(self._process)
        shutil.rmtree(self._folder, ignore_errors=True)

    def __enter__(self) -> PgBouncer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _write_config(self, max_clients: int) -> Path:
        up = self.upstream
        password = f" password={up.password}" if up.password else ""
        users = self._folder / "users.txt"
        users.write_text(f'"{up.user}" ""\n')
        config = self._folder / "pgbouncer.ini"
        config.write_text(
            "[databases]\n"
            f"* = host={up.host} port={up.port} user={up.user}{password}\n"
            "[pgbouncer]\n"
            "listen_addr = 127.0.0.1\n"
            f"listen_port = {self.port}\n"
            "unix_socket_dir =\n"
            "auth_type = trust\n"
            f"auth_file = {users}\n"
            f"pool_mode = {self.pool_mode}\n"
            f"default_pool_size = {self.server_connections}\n"
            f"max_db_connections = {self.server_connections}\n"
            f"max_client_conn = {max_clients}\n"
            "server_idle_timeout = 10\n"
            "log_connections = 0\n"
            "log_disconnections = 0\n"
            "ignore_startup_parameters = extra_float_digits,options\n"
        )
        for path in (users, config):
            path.chmod(0o644)
        return config

    def _as_user(self) -> list[str]:
        """PgBouncer refuses to run as root: then it runs as the owner of the socket folder."""
        if os.geteuid() != 0:
            return []
        owner = "nobody"
        if self.upstream.host.startswith("/"):
            owner = pwd.getpwuid(Path(self.upstream.host).stat().st_uid).pw_name
        return ["-u", "nobody" if owner == "root" else owner]

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                output = self._log.read_text(errors="replace")
                raise PgBouncerUnavailable(f"pgbouncer exited at start:\n{output}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise PgBouncerUnavailable(f"pgbouncer did not listen on port {self.port} in time")


def start_pgbouncer(upstream_url: str, **options: int | str) -> PgBouncer:
    """Provision PgBouncer if needed and start it in front of `upstream_url`'s server."""
    return PgBouncer(provision(), upstream_url, **options)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def pgbouncer(backend_server: object) -> Iterator[PgBouncer]:
    """A transaction-mode PgBouncer in front of the test database server.

    Skips, saying why, when PgBouncer can not be provisioned; fails instead in CI
    (CI=true), where the pooler scenarios must run.
    """
    admin_url: str = backend_server.admin_url  # type: ignore[attr-defined]
    try:
        bouncer = start_pgbouncer(admin_url)
    except PgBouncerUnavailable as exc:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"PgBouncer is required in CI: {exc}")
        pytest.skip(f"PgBouncer unavailable: {exc}")
    try:
        yield bouncer
    finally:
        bouncer.stop()


def main() -> None:
    """`python -m backend.testing.pgbouncer`: provision it (CI does this before the tests)."""
    binary = provision()
    version = subprocess.run(
        [str(binary.executable), "--version"],
        env=binary.environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    print(f"{version.stdout.splitlines()[0]} at {binary.executable}")


if __name__ == "__main__":
    main()
