"""The errors a user meets in the first hour: one line on stderr naming the setting and the fix,
exit 2 for an unusable argument, 1 for a broker or folder that fails at run time."""

import shutil
from pathlib import Path

import pytest

from streams.commands.cli import main
from tests.kafka import POLICY_DIR

NOBODY = "kafka://127.0.0.1:1"  # a refused connection, at once
REPORT = ["report", "--office", "kanim-blitar", "--from", "2026-03-01", "--to", "2026-03-31"]


def error_of(capsys: pytest.CaptureFixture[str], argv: list[str], code: int) -> str:
    """Runs the command; its exit code, and its one stderr line (no traceback, no library text)."""
    assert main(argv) == code
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def a_policy(tmp_path: Path, name: str, **changes: str) -> Path:
    text = (Path(POLICY_DIR) / "kanim-blitar.toml").read_text()
    for key, value in changes.items():
        text = "\n".join(
            f"{key} = {value}" if line.startswith(f"{key} =") else line for line in text.splitlines()
        )
    path = tmp_path / name
    path.write_text(text)
    return path


def test_an_unreachable_broker_is_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    worker = error_of(capsys, ["worker", "--broker", NOBODY, "--data-dir", str(tmp_path / "d")], 1)
    assert NOBODY in worker and "--broker" in worker and "KOMPENSASI_BROKER" in worker
    report = error_of(capsys, [*REPORT, "--broker", NOBODY, "--out", str(tmp_path / "r")], 1)
    assert "127.0.0.1:1" in report and "--broker" in report


def test_an_unwritable_out_folder_is_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    taken = tmp_path / "a-file"
    taken.write_text("")
    line = error_of(capsys, [*REPORT, "--input", str(taken), "--out", str(taken)], 1)
    assert f"--out {taken}" in line and "cannot write" in line


@pytest.mark.parametrize(
    ("argv", "env", "named"),
    [
        (["worker"], {"KOMPENSASI_PARTITIONS": "abc"}, "KOMPENSASI_PARTITIONS='abc' is not a whole number"),
        (["worker", "--processing-guarantee", "maybe"], {}, "--processing-guarantee='maybe' is not one of"),
        (["worker", "--security-protocol", "FOO"], {}, "--security-protocol='FOO' is not one of PLAINTEXT"),
        (["worker"], {"KOMPENSASI_SECURITY_PROTOCOL": "FOO"}, "KOMPENSASI_SECURITY_PROTOCOL='FOO'"),
    ],
)
def test_an_unusable_setting_is_named_and_exits_2(
    argv: list[str],
    env: dict[str, str],
    named: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # Checked before anything connects: the broker given is nobody.
    assert named in error_of(capsys, [*argv, "--broker", NOBODY], 2)


def test_policy_errors_name_the_file_the_field_and_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    quoted = a_policy(tmp_path, "quoted.toml", threshold_s='"7200"')
    line = error_of(capsys, ["replay", "--policy", str(quoted), "-"], 2)
    assert str(quoted) in line and "threshold_s = '7200'" in line and "integer" in line
    both = a_policy(tmp_path, "two.toml", threshold_s="-1", smart_registration_required='"yes"')
    line = error_of(capsys, ["replay", "--policy", str(both), "-"], 2)
    assert "threshold_s = -1" in line and "smart_registration_required = 'yes'" in line
    inverted = a_policy(tmp_path, "inverted.toml", warn_after_s="9000")
    assert "warn_after_s must be less than threshold_s" in error_of(
        capsys, ["replay", "--policy", str(inverted), "-"], 2
    )


def test_a_folder_without_policies_or_with_two_for_one_office_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    line = error_of(capsys, ["worker", "--policy", str(empty), "--broker", NOBODY], 2)
    assert f"--policy {empty}" in line and "no *.toml" in line
    twice = tmp_path / "twice"
    twice.mkdir()
    shutil.copy(Path(POLICY_DIR) / "kanim-blitar.toml", twice / "a.toml")
    shutil.copy(Path(POLICY_DIR) / "kanim-blitar.toml", twice / "b.toml")
    line = error_of(capsys, ["replay", "--policy", str(twice), "-"], 2)
    assert str(twice / "a.toml") in line and str(twice / "b.toml") in line and "kanim-blitar" in line


def test_the_worker_help_says_policy_repeats(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["worker", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--policy PATH policy file or folder, repeatable ($KOMPENSASI_POLICIES: :-separated" in text
