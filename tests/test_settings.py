"""Worker settings: flags over environment over defaults; a worker configured by environment only."""

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from streams.commands.broker import free_port, start_broker
from streams.commands.feed import OutputReader, produce_raw
from streams.commands.supervise import WorkerProcess
from streams.settings import ENV_VARS, OPTIONS, settings_from, values
from streams.worker.app import credentials
from tests.builders import issue, tick
from tests.kafka import POLICY_DIR


def test_a_flag_beats_the_environment_which_beats_the_default() -> None:
    env = {"KOMPENSASI_PARTITIONS": "12", "KOMPENSASI_WEB_PORT": "7000"}
    chosen = values(env, {"web_port": 7100})
    assert chosen["partitions"] == 12
    assert chosen["web_port"] == 7100
    assert chosen["broker"] == "kafka://127.0.0.1:9092"
    assert chosen["processing_guarantee"] == "at_least_once"


def test_every_option_has_one_variable_and_reaches_the_settings() -> None:
    assert len(ENV_VARS) == len(OPTIONS)
    assert all(v.startswith("KOMPENSASI_") for v in ENV_VARS)
    settings = settings_from([], values({}, {}))
    assert settings.web_port == 6066 and settings.security_protocol == "PLAINTEXT"


def test_credentials_follow_the_security_protocol() -> None:
    base = values({}, {})
    assert credentials(settings_from([], base)) is None
    sasl = credentials(settings_from([], {**base, "security_protocol": "SASL_SSL", "sasl_username": "u"}))
    assert type(sasl).__name__ == "SASLCredentials"
    assert sasl.ssl_context is not None  # type: ignore[union-attr]
    assert "u" in repr(sasl) and "password" not in repr(sasl).lower().replace("username", "")
    with pytest.raises(ValueError, match="unknown security protocol"):
        credentials(settings_from([], {**base, "security_protocol": "CARRIER_PIGEON"}))


@pytest.mark.broker
def test_a_worker_configured_by_environment_only_processes_a_record(tmp_path: Path) -> None:
    broker = start_broker()
    port = free_port()
    env = {
        **os.environ,
        "KOMPENSASI_BROKER": broker.url,
        "KOMPENSASI_WEB_PORT": str(port),
        "KOMPENSASI_PARTITIONS": "2",
        "KOMPENSASI_DATA_DIR": str(tmp_path / "data"),
        "KOMPENSASI_POLICIES": POLICY_DIR,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "streams.commands.cli", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    probe = WorkerProcess(broker.url, tmp_path, web_port=port, process=process)
    try:
        assert probe.wait_ready(90)["partitions"] == [0, 1]
        events = [issue("E1", "08:00", event_id="env-1"), tick("12:00")]

        async def run() -> list:
            async with OutputReader(broker.address) as reader:
                await produce_raw(
                    broker.address, [("queue.tickets", b"kanim-blitar", orjson.dumps(e)) for e in events]
                )
                await reader.until_quiet(quiet_s=10, limit_s=30, want=2)
                return reader.records

        records = asyncio.run(run())
        assert [v["outcome"] for t, v in records if t == "compensation.decisions"] == ["eligible"]
    finally:
        probe.stop()
        broker.stop()


def test_the_readme_lists_every_setting() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    for option in OPTIONS:
        assert f"| `{option.env}` | `{option.flag}` |" in readme, option.env
