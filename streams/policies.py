"""Loads policy files: the shipped ones, or the paths given."""

from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from rules.policy import Policy, parse_policy


class PolicyError(Exception):
    pass


def shipped_policies() -> list[Policy]:
    folder = resources.files("rules") / "policies"
    return [
        parse_policy(f.read_text("utf-8"))
        for f in sorted(folder.iterdir(), key=lambda f: f.name)
        if f.name.endswith(".toml")
    ]


def load_policies(paths: list[str] | None) -> list[Policy]:
    """The given policy files (a folder means every *.toml in it), or the shipped ones."""
    if not paths:
        return shipped_policies()
    files: list[Path] = []
    for p in map(Path, paths):
        files += sorted(p.glob("*.toml")) if p.is_dir() else [p]
    policies = []
    for f in files:
        try:
            policies.append(parse_policy(f.read_text("utf-8")))
        except OSError as exc:
            raise PolicyError(f"cannot read policy {f}: {exc.strerror}") from exc
        except (ValidationError, ValueError) as exc:
            raise PolicyError(f"invalid policy {f}: {str(exc).splitlines()[0]}") from exc
    ids = [p.office_id for p in policies]
    if len(set(ids)) != len(ids):
        raise PolicyError("two policy files name the same office_id")
    return policies
