"""The Worker under test: ``wrangler dev`` started the way the project's end-to-end suite
starts it (``tests/e2e/common/server.rs``): D1 migrations applied to a fresh
``--persist-to`` directory, free HTTP and inspector ports, readiness polled on ``/healthz``,
and on teardown the whole process group ended and the state removed.

``EDGE_REALTIME_TEST_URL`` points the tests at a Worker that is already running instead
(its key and secret then come from ``EDGE_REALTIME_TEST_API_KEY`` /
``EDGE_REALTIME_TEST_JWT_SECRET`` or the repository's ``.dev.vars``).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[3]
READY_TIMEOUT = float(os.environ.get("EDGE_RT_READY_TIMEOUT_SECS", "600"))
STOP_GRACE = 10.0


@dataclass(frozen=True)
class Worker:
    url: str
    api_key: str
    jwt_secret: str

    @property
    def ws_url(self) -> str:
        return "ws" + self.url.removeprefix("http")


def dev_vars() -> dict[str, str]:
    """``KEY="value"`` lines of ``.dev.vars`` (what wrangler dev reads), else the example."""
    for name in (".dev.vars", ".dev.vars.example"):
        path = ROOT / name
        if path.exists():
            return parse_vars(path.read_text())
    raise RuntimeError(f"no .dev.vars in {ROOT}: run bash scripts/setup.sh")


def parse_vars(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = (part.strip() for part in line.split("=", 1))
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key.removeprefix("export ").strip()] = value
    return values


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wrangler(*args: str) -> list[str]:
    """A wrangler command line with the project's tools on PATH (``scripts/lib.sh``)."""
    quoted = " ".join(f"'{a}'" for a in args)
    return ["bash", "-c", f". scripts/lib.sh && tools_path && exec wrangler {quoted}"]


def jwt_secret() -> str:
    """The ``JWT_SECRET`` of the Worker under test (known before it starts)."""
    if os.environ.get("EDGE_REALTIME_TEST_URL"):
        return os.environ.get("EDGE_REALTIME_TEST_JWT_SECRET") or dev_vars()["JWT_SECRET"]
    return dev_vars()["JWT_SECRET"]


def external() -> Worker | None:
    url = os.environ.get("EDGE_REALTIME_TEST_URL")
    if not url:
        return None
    v = dev_vars()
    return Worker(
        url.rstrip("/"),
        os.environ.get("EDGE_REALTIME_TEST_API_KEY") or v["API_KEY"].split(",")[0].strip(),
        jwt_secret(),
    )


class WranglerDev:
    """One ``wrangler dev`` with its own state directory and log file."""

    def __init__(self) -> None:
        self.state = Path(tempfile.mkdtemp(prefix="edge-rt-py-"))
        self.log_path = self.state.with_suffix(".log")
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Worker:
        env = {**os.environ, "CI": "true"}
        migrate = subprocess.run(
            wrangler("d1", "migrations", "apply", "DB", "--local", "--persist-to", str(self.state)),
            cwd=ROOT, env=env, capture_output=True, text=True,
        )
        if migrate.returncode != 0:
            raise RuntimeError(f"d1 migrations apply failed:\n{migrate.stdout}\n{migrate.stderr}")
        args = ["dev", "--ip", "127.0.0.1", "--port", str(self.port), "--inspector-port", str(free_port())]
        args += ["--persist-to", str(self.state), "--log-level", "warn", "--show-interactive-dev-session=false"]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                wrangler(*args), cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        self.wait_ready()
        v = dev_vars()
        return Worker(f"http://127.0.0.1:{self.port}", v["API_KEY"].split(",")[0].strip(), v["JWT_SECRET"])

    def wait_ready(self) -> None:
        url = f"http://127.0.0.1:{self.port}/healthz"
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"wrangler dev exited ({self.proc.returncode}):\n{self.log_tail()}")
            try:
                if httpx.get(url, timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.25)
        self.stop(keep_log=True)
        raise RuntimeError(f"no 200 from {url} within {READY_TIMEOUT:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 60) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, keep_log: bool = False) -> None:
        """SIGTERM to wrangler's process group (only what this object started), then SIGKILL."""
        if self.proc is not None and self.proc.poll() is None:
            _signal_group(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_GRACE)
            except subprocess.TimeoutExpired:
                _signal_group(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        _signal_group(self.proc.pid if self.proc else None, signal.SIGKILL)  # stragglers of the group
        shutil.rmtree(self.state, ignore_errors=True)
        if keep_log:
            print(f"wrangler log kept at {self.log_path}")
        else:
            self.log_path.unlink(missing_ok=True)


def _signal_group(pid: int | None, sig: signal.Signals) -> None:
    if pid is None:
        return
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
