"""`cockpit serve`: the read-only attach screen in real headless Chromium, through the real textual-serve.

xterm.js draws the screen on a canvas (the DOM lacks the text), so the test reads what the
terminal received: every WebSocket frame from the served app, escape codes stripped. A
screenshot is kept beside the evidence for a person to look at.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
_ANSI = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, process: subprocess.Popen[bytes], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read().decode(errors="replace") if process.stdout else ""
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"cockpit serve did not listen on {port} within {seconds:g}s")


@pytest.fixture(scope="module")
def drilled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A finished drill canary's evidence root and version: a real journal to attach to."""
    root = tmp_path_factory.mktemp("serve-evidence")
    done = subprocess.run([sys.executable, "-m", "cockpit", "drill", "--headless", "--evidence-dir", str(root),
                           "--stage-seconds", "3"], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    (run_dir,) = [p for p in root.iterdir() if (p / "journal.jsonl").exists()]
    return root, run_dir.name


def test_serve_shows_the_stage_and_the_signals_in_chromium(drilled: tuple[Path, str], tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (scripts/test.sh installs it with apt)")
    pytest.importorskip("textual_serve", reason="the [web] extra is not installed (scripts/test.sh installs it)")
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (scripts/test.sh)")
    root, version = drilled
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "cockpit", "serve", version, "--evidence-dir", str(root),
                               "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              cwd=tmp_path)
    try:
        _wait_for_port(port, server)
        frames: list[bytes] = []
        with playwright.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 800})

            def on_socket(ws) -> None:
                ws.on("framereceived", lambda payload: frames.append(
                    payload if isinstance(payload, bytes) else payload.encode()))

            page.on("websocket", on_socket)
            page.goto(f"http://127.0.0.1:{port}/", timeout=20_000)
            splash = page.content()
            assert "attach" in splash and version in splash  # the splash names the read-only command
            page.click("body")
            deadline = time.monotonic() + 45
            screen = ""
            while time.monotonic() < deadline:
                screen = _ANSI.sub(b"", b"".join(frames)).decode("utf-8", errors="replace")
                if "Stage" in screen and "p95" in screen:
                    break
                page.wait_for_timeout(500)
            page.screenshot(path=str(tmp_path / "serve.png"))
            browser.close()
        assert "Stage" in screen, f"no stage on the served screen: {screen[-1500:]!r}"
        for signal in ("p95", "5xx"):
            assert signal in screen, f"signal {signal} not on the served screen: {screen[-1500:]!r}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_serve_without_the_web_extra_says_how_to_install(tmp_path: Path) -> None:
    """Without textual-serve importable: one line naming the extra, exit 2, no traceback."""
    blocker = tmp_path / "textual_serve"
    blocker.mkdir()
    (blocker / "__init__.py").write_text("raise ImportError('blocked for this test')\n")
    done = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
                           "from cockpit.cli import main; raise SystemExit(main(['serve', 'v1.4.0']))", str(tmp_path)],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "[web]" in done.stderr and "Traceback" not in done.stderr
