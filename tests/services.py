"""Real PostgreSQL, pgBouncer and Prometheus on loopback, free ports and temporary folders.

Used by the session-scoped fixtures in conftest.py: each service starts once per
test session and is stopped at its end. Facts behind the details (run as the
postgres user, pgBouncer's auth_file, waiting for Prometheus data) are in
shared/REAL_SERVICES.md.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _is_root() -> bool:
    return os.geteuid() == 0


def _as_service_user(argv: list[str]) -> list[str]:
    """PostgreSQL and pgBouncer refuse to run as root: drop to the postgres user when root."""
    return ["runuser", "-u", "postgres", "--", *argv] if _is_root() else argv


def _chown_service(path: Path) -> None:
    if _is_root():
        user = pwd.getpwnam("postgres")
        os.chown(path, user.pw_uid, user.pw_gid)


def pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found and name not in ("initdb", "pg_ctl", "postgres"):
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if candidates:
        return candidates[-1]
    if found:
        return found
    raise RuntimeError(f"{name} not found: install postgresql (see README's test command)")


def wait_until(predicate, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}")


def spawn(argv: list[str], log: Path) -> subprocess.Popen:
    """Start a server in the background, its stderr to `log`."""
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=open(log, "wb"))


def check_alive(process: subprocess.Popen | None, name: str, log: Path) -> None:
    """RuntimeError with the log's tail when the server already exited (a bad flag, a taken port)."""
    if process is not None and process.poll() is not None:
        tail = log.read_text(errors="replace")[-500:]
        raise RuntimeError(f"{name} exited with {process.returncode}: {tail}")


def http_ready(url: str) -> bool:
    """Whether GET `url` answers 200 (a server's /-/ready)."""
    try:
        with urllib.request.urlopen(url, timeout=0.5) as response:
            return response.status == 200
    except OSError:
        return False


def stop_process(process: subprocess.Popen | None) -> None:
    """SIGTERM, up to 10 s to exit, then SIGKILL."""
    if process is not None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def running(service: Any) -> Iterator[Any]:
    """Start a service (anything with start() and stop()), hand it over, then stop it and remove its `root` folder if any."""
    service.start()
    try:
        yield service
    finally:
        service.stop()
        if getattr(service, "root", None) is not None:
            shutil.rmtree(service.root, ignore_errors=True)


@dataclass
class Postgres:
    root: Path
    port: int = field(default_factory=free_port)
    running: bool = False

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def sockdir(self) -> Path:
        return self.root / "sock"

    def dsn(self, database: str = "postgres", user: str = "postgres", password: str | None = None) -> str:
        auth = f"{user}:{password}" if password else user
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        for path in (self.root, self.sockdir):
            path.mkdir(parents=True, exist_ok=True)
            _chown_service(path)
        if not self.data.exists():
            self.data.mkdir()
            _chown_service(self.data)
            subprocess.run(
                _as_service_user([pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"]),
                check=True, capture_output=True,
            )
        subprocess.run(
            _as_service_user([
                pg_bin("pg_ctl"), "-D", str(self.data), "-w", "-l", str(self.root / "postgres.log"),
                "-o", f"-p {self.port} -k {self.sockdir} -c listen_addresses=127.0.0.1",
                "start",
            ]),
            check=True, capture_output=True,
        )
        self.running = True

    def stop(self) -> None:
        if self.running:
            subprocess.run(
                _as_service_user([pg_bin("pg_ctl"), "-D", str(self.data), "-w", "-m", "fast", "stop"]),
                capture_output=True,
            )
            self.running = False

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run SQL with psql (one -c = one transaction); returns its output."""
        out = subprocess.run(
            [pg_bin("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-d", self.dsn(database), "-c", sql],
            check=True, capture_output=True, text=True,
        )
        return out.stdout


@dataclass
class PgBouncer:
    root: Path
    postgres: Postgres
    database: str
    port: int = field(default_factory=free_port)
    running: bool = False
    pool_size: int = 10  # default_pool_size: small values let tests saturate a pool

    def admin_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/pgbouncer"

    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.database}"

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        _chown_service(self.root)
        auth = self.root / "userlist.txt"
        auth.write_text('"postgres" ""\n')
        ini = self.root / "pgbouncer.ini"
        ini.write_text(
            f"""[databases]
{self.database} = host=127.0.0.1 port={self.postgres.port} dbname={self.database}
* = host=127.0.0.1 port={self.postgres.port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {self.port}
unix_socket_dir = {self.root}
auth_type = trust
auth_file = {auth}
admin_users = postgres
pool_mode = transaction
default_pool_size = {self.pool_size}
max_client_conn = 100
pidfile = {self.root}/pgbouncer.pid
logfile = {self.root}/pgbouncer.log
ignore_startup_parameters = extra_float_digits
"""
        )
        for path in (auth, ini):
            _chown_service(path)
        subprocess.run(_as_service_user(["pgbouncer", "-d", str(ini)]), check=True, capture_output=True)
        wait_until(lambda: _port_open(self.port), 5, "pgBouncer to listen")
        self.running = True

    def stop(self) -> None:
        if not self.running:
            return
        pid_file = self.root / "pgbouncer.pid"
        try:
            pid = int(pid_file.read_text().strip())
            os.kill(pid, 15)
            wait_until(lambda: not _port_open(self.port), 5, "pgBouncer to stop")
        except (OSError, ValueError, TimeoutError):
            pass
        self.running = False


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Prometheus:
    """A real Prometheus, scraping targets listed in a file_sd file the tests can extend at run time."""

    root: Path
    scrape_interval: str = "1s"
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    targets: list[dict] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add_target(self, address: str, job: str, labels: dict[str, str] | None = None) -> None:
        """Scrape `address` (host:port) as `job`; Prometheus picks the file change up by itself."""
        self.targets.append({"targets": [address], "labels": {"job": job, **(labels or {})}})
        sd = self.root / "targets.json"
        tmp = sd.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.targets))
        os.replace(tmp, sd)

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "targets.json").write_text(json.dumps(self.targets))
        config = self.root / "prometheus.yml"
        config.write_text(
            f"""global:
  scrape_interval: {self.scrape_interval}
  evaluation_interval: {self.scrape_interval}
scrape_configs:
  - job_name: file_sd
    file_sd_configs:
      - files: ["{self.root}/targets.json"]
        refresh_interval: 1s
"""
        )
        self.process = spawn(
            [
                shutil.which("prometheus") or "/usr/bin/prometheus",
                f"--config.file={config}",
                f"--storage.tsdb.path={self.root / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--web.enable-lifecycle",
                "--log.level=warn",
            ],
            self.root / "prometheus.log",
        )
        wait_until(lambda: http_ready(f"{self.url}/-/ready"), 20, "Prometheus /-/ready")

    def query(self, expr: str) -> list[dict]:
        from urllib.parse import quote

        with urllib.request.urlopen(f"{self.url}/api/v1/query?query={quote(expr)}", timeout=2) as response:
            return json.load(response)["data"]["result"]

    def wait_for_data(self, expr: str, timeout: float = 30) -> list[dict]:
        """Wait until `expr` returns a sample: the first scrapes land seconds after ready."""
        return wait_until(lambda: self.query(expr), timeout, f"data for {expr}", interval=0.25)

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None


def temp_root(prefix: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(path, 0o755)
    return path


@dataclass
class Alertmanager:
    """A real Alertmanager (clustering off) that tests create and expire silences in."""

    root: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        config = self.root / "alertmanager.yml"
        config.write_text('route:\n  receiver: "null"\nreceivers:\n  - name: "null"\n')
        self.process = spawn(
            [
                shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager",
                f"--config.file={config}",
                f"--storage.path={self.root / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",
                "--log.level=warn",
            ],
            self.root / "alertmanager.log",
        )
        wait_until(self._ready, 20, "Alertmanager /-/ready")

    def _ready(self) -> bool:
        check_alive(self.process, "Alertmanager", self.root / "alertmanager.log")
        return http_ready(f"{self.url}/-/ready")

    def create_silence(self, matchers: list[dict], created_by: str = "tests", comment: str = "test", minutes: float = 30) -> str:
        """POST /api/v2/silences; matchers like {"name": "severity", "value": "critical", "isRegex": False}."""
        from datetime import datetime, timedelta

        now = datetime.now(UTC)
        body = {
            "matchers": [{"isRegex": False, "isEqual": True, **m} for m in matchers],
            "startsAt": now.isoformat(),
            "endsAt": (now + timedelta(minutes=minutes)).isoformat(),
            "createdBy": created_by,
            "comment": comment,
        }
        request = urllib.request.Request(
            f"{self.url}/api/v2/silences",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.load(response)["silenceID"]

    def expire_silence(self, silence_id: str) -> None:
        request = urllib.request.Request(f"{self.url}/api/v2/silence/{silence_id}", method="DELETE")
        with urllib.request.urlopen(request, timeout=5):
            pass

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sntp_answers(port: int, timeout: float = 0.3) -> bool:
    """True when an NTP server on 127.0.0.1:port answers a client request as a synchronised server."""
    request = bytes([0x23]) + bytes(47)  # LI 0, version 4, mode 3 (client)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.sendto(request, ("127.0.0.1", port))
            reply, _ = sock.recvfrom(512)
        except OSError:
            return False
    return len(reply) >= 48 and reply[0] & 0x7 == 4 and reply[0] >> 6 != 3 and 0 < reply[1] < 16


@dataclass
class Chrony:
    """chronyd as an NTP server on 127.0.0.1: serves its local clock at stratum 8, never sets the system clock."""

    root: Path
    port: int = field(default_factory=free_udp_port)
    process: subprocess.Popen | None = None

    @property
    def server(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if _is_root():
            # chronyd drops root for the _chrony user, which must be able to write its pid file here.
            try:
                user = pwd.getpwnam("_chrony")
                os.chown(self.root, user.pw_uid, user.pw_gid)
            except KeyError:
                pass
        config = self.root / "chrony.conf"
        config.write_text(
            f"port {self.port}\n"
            "bindaddress 127.0.0.1\n"
            "local stratum 8\n"
            "allow 127.0.0.1\n"
            "cmdport 0\n"
            f"pidfile {self.root}/chronyd.pid\n"
        )
        binary = shutil.which("chronyd") or "/usr/sbin/chronyd"
        if not os.path.exists(binary):
            raise RuntimeError("chronyd not found: install chrony (scripts/test.sh does)")
        # -d: foreground, log to stderr; -x: never touch the system clock.
        self.process = spawn([binary, "-d", "-x", "-f", str(config)], self.root / "chronyd.log")
        wait_until(self._ready, 10, "chronyd to answer NTP requests")

    def _ready(self) -> bool:
        check_alive(self.process, "chronyd", self.root / "chronyd.log")
        return sntp_answers(self.port)

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None


@dataclass
class TrackServers:
    """Two tiny HTTP servers on loopback answering "stable" and "canary": the backends behind HAProxy."""

    servers: dict[str, Any] = field(default_factory=dict)

    def port(self, track: str) -> int:
        return int(self.servers[track].server_port)

    def start(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        for track in ("stable", "canary"):
            body = track.encode()

            class Answer(BaseHTTPRequestHandler):
                def do_GET(self, body: bytes = body) -> None:  # noqa: N802 (http.server's name)
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

                def log_message(self, *args: Any) -> None:  # quiet: no line per request on stderr
                    pass

            server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            self.servers[track] = server

    def stop(self) -> None:
        for server in self.servers.values():
            server.shutdown()
            server.server_close()
        self.servers.clear()


@dataclass
class HAProxy:
    """A real HAProxy (Debian's), daemonised from a config in a temp folder, stopped by its pid file.

    Backend "web" has servers "stable" and "canary" (the TrackServers); the
    runtime API is on `admin.sock` at level admin, as a user would configure it.
    """

    root: Path
    tracks: TrackServers
    port: int = field(default_factory=free_port)

    @property
    def socket(self) -> Path:
        return self.root / "admin.sock"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        config = self.root / "haproxy.cfg"
        config.write_text(
            f"""global
    stats socket {self.socket} mode 600 level admin
    pidfile {self.root / 'haproxy.pid'}

defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s

frontend web_in
    bind 127.0.0.1:{self.port}
    default_backend web

backend web
    balance roundrobin
    server stable 127.0.0.1:{self.tracks.port('stable')} weight 100
    server canary 127.0.0.1:{self.tracks.port('canary')} weight 0
"""
        )
        binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
        # -D daemonises; the command returns once the config is loaded (exit 0) or refused (non-zero).
        done = subprocess.run([binary, "-f", str(config), "-D", "-p", str(self.root / "haproxy.pid")],
                              capture_output=True, text=True, timeout=30)
        if done.returncode != 0:
            raise RuntimeError(f"haproxy exited with {done.returncode}: {(done.stderr or done.stdout)[-500:]}")
        wait_until(lambda: self.socket.exists() and _port_open(self.port), 10, "HAProxy's socket and port")

    def pid(self) -> int | None:
        try:
            return int((self.root / "haproxy.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self) -> None:
        import signal

        pid = self.pid()
        if pid is None:
            return
        try:
            os.kill(pid, signal.SIGTERM)
            wait_until(lambda: not _pid_alive(pid), 10, "HAProxy to stop")
        except (ProcessLookupError, TimeoutError):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def get(self) -> str:
        """One request through HAProxy, on a new connection: which track answered."""
        with urllib.request.urlopen(self.url, timeout=5) as response:
            return response.read().decode()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A daemon we started is not our child, so no zombie: gone means gone.
    return True
