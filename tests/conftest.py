import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.broker import Broker, start_broker

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
EXAMPLES = SHARED / "contract" / "examples"
KOMPENSASI = str(Path(sys.executable).with_name("kompensasi"))


@pytest.fixture
def broker() -> Iterator[Broker]:
    """The embedded broker on a free loopback port, stopped (SIGTERM, then SIGKILL) afterwards."""
    b = start_broker()
    try:
        yield b
    finally:
        b.stop()
