"""The drill's throwaway PostgreSQL and pgBouncer: a temp folder, free loopback ports, the seed's schema, stopped at the end.

Started only when their programs are installed (initdb, postgres, pgbouncer);
as root, they run as the `postgres` user (both refuse root). Starting takes a
few seconds (initdb), so `start_in_background()` returns at once and the checks
that need the database wait for `wait()`; `state` says where it stands in
words. WAL archiving is on (into the temp folder) so the PITR check has a real
archiver to read.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cockpit.drill.prometheus import free_port

DATABASE = "app"
NOT_INSTALLED = "drill: PostgreSQL not installed here: apt-get install postgresql pgbouncer"
STARTING = "drill: the database is starting"


def _is_root() -> bool:
    return os.geteuid() == 0


def _service_user(argv: list[str]) -> list[str]:
    """PostgreSQL and pgBouncer refuse to run as root: run them as the postgres user then."""
    return ["runuser", "-u", "postgres", "--", *argv] if _is_root() else argv


def _server(argv: list[str], signal: str) -> list[str]:
    """A server that goes when the drill goes: setpriv (no fork: the server is our child) drops root for the
    postgres user and sends `signal` when the starting thread dies, so a drill killed with SIGKILL or SIGHUP
    (a closed tmux pane) leaves no PostgreSQL behind. Without setpriv: runuser, and only a clean stop."""
    guard = shutil.which("setpriv")
    if guard is None:
        return _service_user(argv)
    user = ["--reuid", "postgres", "--regid", "postgres", "--init-groups"] if _is_root() else []
    return [guard, *user, "--pdeathsig", signal, "--", *argv]


def _chown(path: Path) -> None:
    if _is_root():
        user = pwd.getpwnam("postgres")
        os.chown(path, user.pw_uid, user.pw_gid)


def search_path() -> str:
    """Where the programs are looked for: PATH, /usr/sbin (pgbouncer), Debian's /usr/lib/postgresql/*/bin (newest first)."""
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    return os.pathsep.join([*debian, os.environ.get("PATH", ""), "/usr/sbin"])


def pg_program(name: str, path: str | None = None) -> str | None:
    """A program of PostgreSQL or pgBouncer on the search path, None when not installed."""
    return shutil.which(name, path=path if path is not None else search_path())


def missing_programs(path: str | None = None) -> list[str]:
    """The programs the drill's database needs that are not installed (and a postgres user when root)."""
    missing = [name for name in ("initdb", "postgres", "pgbouncer") if pg_program(name, path) is None]
    if _is_root():
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            missing.append("the postgres user")
    return missing


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class DrillDatabase:
    """PostgreSQL (database `app`, the seed's schema) with pgBouncer in front, for one drill."""

    failed_migration: bool = False
    sequence_near_end: bool = False
    path: str | None = None  # where the programs are looked for (None: search_path())
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="cockpit-drill-db-")))
    pg_port: int = field(default_factory=free_port)
    bouncer_port: int = field(default_factory=free_port)
    problem: str | None = None  # why it is not available (None: starting or ready)
    ready: bool = False
    _done: threading.Event = field(default_factory=threading.Event)
    _postgres: subprocess.Popen[bytes] | None = None
    _bouncer: subprocess.Popen[bytes] | None = None
    _thread: threading.Thread | None = None
    _stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.pg_port}/{DATABASE}"

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.bouncer_port}/pgbouncer"

    @property
    def state(self) -> str:
        """ready / starting / why not, in words."""
        if self.ready:
            return f"drill: PostgreSQL 127.0.0.1:{self.pg_port}, pgBouncer 127.0.0.1:{self.bouncer_port}"
        return self.problem or STARTING

    def start_in_background(self) -> DrillDatabase:
        """Start on a thread (call it from one that lives as long as the drill: the servers die with it); `wait()`."""
        missing = missing_programs(self.path)
        if missing:
            self.problem = f"{NOT_INSTALLED} (missing: {', '.join(missing)})"
            self._done.set()
            return self
        # pdeathsig follows the *thread* that started the server: the starting thread stays alive until stop().
        self._thread = threading.Thread(target=self._start_and_stay, name="drill-db", daemon=True)
        self._thread.start()
        return self

    def _start_and_stay(self) -> None:
        self._start_safely()
        self._stopping.wait()
        self._stop_servers()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until started (or failed); True when ready."""
        self._done.wait(timeout)
        return self.ready

    def _start_safely(self) -> None:
        try:
            self.start()
        except Exception as exc:  # noqa: BLE001 - any failure is the drill's one line, never a traceback
            detail = getattr(exc, "stderr", None)
            text = detail.decode(errors="replace").strip().splitlines()[-1] if isinstance(detail, bytes) and detail.strip() else str(exc)
            self.problem = f"drill: the database did not start: {text[:200]}"
        finally:
            self._done.set()

    def start(self) -> None:
        """initdb, PostgreSQL, the seed's schema, pgBouncer (blocking: a few seconds)."""
        from cockpit.drill.seed import seed_healthy

        data, sock, archive = self.root / "data", self.root / "sock", self.root / "archive"
        os.chmod(self.root, 0o755)
        for path in (self.root, sock, archive, data):
            path.mkdir(parents=True, exist_ok=True)
            _chown(path)
        initdb = pg_program("initdb", self.path)
        assert initdb is not None
        subprocess.run(_service_user([initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                                      "--locale=C", "--no-sync"]), check=True, capture_output=True, timeout=120)
        postgres = pg_program("postgres", self.path)
        assert postgres is not None
        argv = [postgres, "-D", str(data), "-p", str(self.pg_port), "-k", str(sock), "-c", "listen_addresses=127.0.0.1",
                "-c", "fsync=off", "-c", "archive_mode=on", "-c", "archive_timeout=60",
                "-c", f"archive_command=cp %p {archive}/%f"]
        with open(self.root / "postgres.log", "wb") as log:  # SIGINT: PostgreSQL's fast shutdown
            self._postgres = subprocess.Popen(_server(argv, "INT"), stdin=subprocess.DEVNULL,
                                              stdout=subprocess.DEVNULL, stderr=log)
        self._wait_port(self.pg_port, self._postgres, "PostgreSQL", 30)
        with self._connect_when_up(f"postgresql://postgres@127.0.0.1:{self.pg_port}/postgres", 30) as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")
        seed_healthy(self.dsn, failed_migration=self.failed_migration, sequence_near_end=self.sequence_near_end)
        with self._connect_when_up(self.dsn, 10) as conn:
            conn.execute("SELECT pg_switch_wal()")  # one archived segment: the PITR check sees a recent archive
        self._start_bouncer()
        deadline = time.monotonic() + 10
        while not self._archived() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.ready = True

    def _connect_when_up(self, dsn: str, timeout: float) -> Any:
        """A connection once PostgreSQL accepts one: a listening port may still answer "starting up"."""
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            try:
                return psycopg.connect(dsn, autocommit=True)
            except psycopg.OperationalError:
                if self._postgres is not None and self._postgres.poll() is not None:
                    raise
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def _archived(self) -> bool:
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as conn:
            row = conn.execute("SELECT last_archived_time FROM pg_stat_archiver").fetchone()
        return bool(row and row[0] is not None)

    def _start_bouncer(self) -> None:
        auth, ini = self.root / "userlist.txt", self.root / "pgbouncer.ini"
        auth.write_text('"postgres" ""\n')
        ini.write_text(
            f"[databases]\n{DATABASE} = host=127.0.0.1 port={self.pg_port} dbname={DATABASE}\n\n"
            f"[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {self.bouncer_port}\nunix_socket_dir = {self.root}\n"
            f"auth_type = trust\nauth_file = {auth}\nadmin_users = postgres\npool_mode = transaction\n"
            f"default_pool_size = 20\nmax_client_conn = 100\npidfile = {self.root}/pgbouncer.pid\n"
            f"logfile = {self.root}/pgbouncer.log\nignore_startup_parameters = extra_float_digits\n"
        )
        for path in (auth, ini):
            _chown(path)
        binary = pg_program("pgbouncer", self.path) or "pgbouncer"
        self._bouncer = subprocess.Popen(_server([binary, str(ini)], "KILL"), stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_port(self.bouncer_port, self._bouncer, "pgBouncer", 10)

    def _wait_port(self, port: int, process: subprocess.Popen[bytes], name: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not _port_open(port):
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode} (see {self.root})")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not listen within {timeout:g}s")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop pgBouncer and PostgreSQL and remove the folder (waits for a start still under way)."""
        if self._thread is not None:
            self._stopping.set()
            self._thread.join(timeout=120)
            self._thread = None
        self._stop_servers()
        self.ready = False
        shutil.rmtree(self.root, ignore_errors=True)

    def _stop_servers(self) -> None:
        for process, sig in ((self._bouncer, signal.SIGTERM), (self._postgres, signal.SIGINT)):
            if process is not None and process.poll() is None:
                process.send_signal(sig)
                try:
                    process.wait(5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self._bouncer = self._postgres = None
