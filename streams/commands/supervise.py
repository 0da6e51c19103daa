"""Starts `kompensasi worker` processes and waits for them to be ready (demo, tests, benchmarks)."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from streams.commands.broker import free_port


@dataclass
class WorkerProcess:
    broker_url: str
    data_dir: Path
    policy_paths: list[str] = field(default_factory=list)
    partitions: int = 4
    web_port: int = field(default_factory=free_port)
    log_path: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> "WorkerProcess":
        args = [sys.executable, "-m", "streams.commands.cli", "worker", "--broker", self.broker_url,
                "--web-port", str(self.web_port), "--partitions", str(self.partitions),
                "--data-dir", str(self.data_dir)]  # fmt: skip
        for p in self.policy_paths:
            args += ["--policy", p]
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            args,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **self.env},
        )
        return self

    def status(self) -> dict[str, object] | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}/ready", timeout=1) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as exc:
            return json.loads(exc.read() or b"{}")
        except (OSError, ValueError):
            return None

    def wait_ready(self, timeout_s: float = 60.0) -> dict[str, object]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"worker exited with code {self.process.returncode}")
            status = self.status()
            if status and status.get("ready"):
                return status
            time.sleep(0.2)
        raise TimeoutError(f"worker on port {self.web_port} not ready within {timeout_s:.0f} s")

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 20.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            self.process.wait(timeout_s)


def wait_all_ready(workers: list[WorkerProcess], partitions: int, timeout_s: float = 90.0) -> None:
    """Every worker ready and, together, owning every partition exactly once."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        statuses = [w.status() for w in workers]
        if all(s and s.get("ready") for s in statuses):
            owned = sorted(p for s in statuses for p in s["partitions"])  # type: ignore[index, union-attr]
            if owned == list(range(partitions)):
                return
        time.sleep(0.3)
    raise TimeoutError("workers did not settle on one assignment")
