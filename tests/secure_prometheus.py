"""A real Prometheus behind TLS, basic auth and client certificates (its --web.config.file), certificates made here.

The CA, the server certificate (for IP 127.0.0.1) and a client certificate are
made with the `openssl` CLI in the service's folder; the basic-auth password is
stored as a bcrypt hash, as Prometheus' web config wants it. A second CA that
signed nothing Prometheus trusts ("stranger") lets a test present a client
certificate the server must refuse.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import urllib.request
from base64 import b64encode
from dataclasses import dataclass, field
from pathlib import Path

from tests.services import check_alive, free_port, spawn, stop_process, wait_until

USERNAME = "cockpit"
PASSWORD = "s3cret-Prom-pa55"  # a test secret: tests assert it never appears in a result


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


def make_ca(folder: Path, name: str) -> None:
    """A self-signed CA: `name`.key and `name`.crt."""
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN=cockpit test {name}",
        "-keyout", f"{name}.key", "-out", f"{name}.crt", cwd=folder,
    )  # fmt: skip


def make_cert(folder: Path, name: str, ca: str, extension: str) -> None:
    """`name`.key and `name`.crt signed by the CA `ca`, with one X.509 extension line (SAN or usage)."""
    (folder / f"{name}.ext").write_text(extension + "\n")
    _openssl(
        "req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
        "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=folder,
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key", "-CAcreateserial",
        "-days", "2", "-out", f"{name}.crt", "-extfile", f"{name}.ext", cwd=folder,
    )  # fmt: skip


@dataclass
class SecurePrometheus:
    """Prometheus serving HTTPS only, requiring basic auth and a client certificate signed by its CA."""

    root: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def file(self, name: str) -> str:
        return str(self.root / name)

    def start(self) -> None:
        import bcrypt

        self.root.mkdir(parents=True, exist_ok=True)
        make_ca(self.root, "ca")
        make_cert(self.root, "server", "ca", "subjectAltName=IP:127.0.0.1")
        make_cert(self.root, "client", "ca", "extendedKeyUsage=clientAuth")
        make_ca(self.root, "stranger")
        make_cert(self.root, "intruder", "stranger", "extendedKeyUsage=clientAuth")
        hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
        web = self.root / "web.yml"
        web.write_text(
            f"""tls_server_config:
  cert_file: {self.root / 'server.crt'}
  key_file: {self.root / 'server.key'}
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: {self.root / 'ca.crt'}
basic_auth_users:
  {USERNAME}: '{hashed}'
"""
        )
        config = self.root / "prometheus.yml"
        config.write_text("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n")
        log = self.root / "prometheus.log"
        self.process = spawn(
            [
                shutil.which("prometheus") or "/usr/bin/prometheus",
                f"--config.file={config}",
                f"--storage.tsdb.path={self.root / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                f"--web.config.file={web}",
                "--log.level=warn",
            ],
            log,
        )

        def ready() -> bool:
            check_alive(self.process, "secure Prometheus", log)
            return self.get("/-/ready") == 200

        wait_until(ready, 20, "secure Prometheus /-/ready")

    def get(self, path: str) -> int:
        """The HTTP status of GET `path` with the right CA, client certificate and password (0 when unreachable)."""
        context = ssl.create_default_context(cafile=self.file("ca.crt"))
        context.load_cert_chain(self.file("client.crt"), self.file("client.key"))
        request = urllib.request.Request(self.url + path)
        request.add_header("Authorization", "Basic " + b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode())
        try:
            with urllib.request.urlopen(request, timeout=1, context=context) as response:
                return response.status
        except OSError:
            return 0

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None
