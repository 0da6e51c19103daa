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
        found = sorted(p.glob("*.toml")) if p.is_dir() else [p]
        if not found:  # else every event would become an unknown_office dead letter
            raise PolicyError(
                f"--policy {p}: no *.toml policy file in this folder; give a file or a folder of them"
            )
        files += found
    policies: dict[str, tuple[Path, Policy]] = {}
    for f in files:
        try:
            policy = parse_policy(f.read_text("utf-8"))
        except OSError as exc:
            raise PolicyError(f"cannot read policy {f}: {exc.strerror}") from exc
        except ValidationError as exc:
            raise PolicyError(f"invalid policy {f}: {reasons(exc)}") from exc
        except ValueError as exc:  # TOML syntax
            raise PolicyError(f"invalid policy {f}: {str(exc).splitlines()[0]}") from exc
        if policy.office_id in policies:
            first = policies[policy.office_id][0]
            raise PolicyError(f"{first} and {f} both set office_id = {policy.office_id!r}: keep one of them")
        policies[policy.office_id] = (f, policy)
    return [policy for _, policy in policies.values()]


def reasons(exc: ValidationError) -> str:
    """Every failing field and why, on one line."""
    out = []
    for e in exc.errors():
        where = ".".join(map(str, e["loc"]))
        if not where:  # a check across fields: its message says which
            out.append(str(e["msg"]).removeprefix("Value error, "))
        elif e["type"] == "missing":
            out.append(f"{where}: missing")
        else:
            out.append(f"{where} = {e['input']!r:.60}: {e['msg']}")
    return "; ".join(out)
