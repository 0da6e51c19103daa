import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.commands.broker import Broker, start_broker

ROOT = Path(__file__).resolve().parent.parent
# The contract's examples and checker, copied into the repository so that a clone alone runs the
# suite; `../shared/contract` beside the repository is the original (test_contract_examples.py).
CONTRACT = ROOT / "tests" / "contract"
SHARED_CONTRACT = ROOT.parent / "shared" / "contract"
EXAMPLES = CONTRACT / "examples"
KOMPENSASI = str(Path(sys.executable).with_name("kompensasi"))


@pytest.fixture
def broker() -> Iterator[Broker]:
    """The embedded broker on a free loopback port, stopped (SIGTERM, then SIGKILL) afterwards."""
    b = start_broker()
    try:
        yield b
    finally:
        b.stop()
