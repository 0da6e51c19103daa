"""The direction of imports between the rooms, read from the source files (an AST check, nothing imported):
the web never imports the worker (the agent, the desk) nor the commands; the shared `streams` modules
import no room; `rules/` and `schemas/` import nothing of `streams/` or `oversight/`; `oversight/`
imports nothing of `streams/`.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = [
    "streams/codec.py",
    "streams/kafka_records.py",
    "streams/logs.py",
    "streams/metrics.py",
    "streams/reading.py",
    "streams/settings.py",
]

# (the files, the packages they must not import)
RULES = {
    "web": (["streams/web"], ("streams.worker", "streams.commands")),
    "worker": (["streams/worker"], ("streams.commands",)),
    "shared": (SHARED, ("streams.worker", "streams.web", "streams.commands")),
    "rules": (["rules"], ("streams", "oversight")),
    "schemas": (["schemas"], ("streams", "oversight")),
    "oversight": (["oversight"], ("streams",)),
}


def imported(source: str, module: str) -> list[tuple[int, str]]:
    """Every module `source` imports, absolute, with its line; `module` resolves relative imports."""
    found: list[tuple[int, str]] = []
    package = module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package[: len(package) - node.level + 1], *([base] if base else [])])
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def violations(source: str, module: str, forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{module}:{line} imports {name}"
        for line, name in imported(source, module)
        if any(name == f or name.startswith(f + ".") for f in forbidden)
    ]


def files(places: list[str]) -> list[Path]:
    out: list[Path] = []
    for place in places:
        path = ROOT / place
        out += [path] if path.is_file() else sorted(path.rglob("*.py"))
    return out


def module_of(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@pytest.mark.parametrize("room", sorted(RULES))
def test_a_room_imports_only_in_its_direction(room: str) -> None:
    places, forbidden = RULES[room]
    found = files(places)
    assert found, f"no source files for {room}: {places}"
    broken = [
        bad for path in found for bad in violations(path.read_text("utf-8"), module_of(path), forbidden)
    ]
    assert not broken, "\n".join(broken)


def test_every_streams_module_is_in_a_room_or_shared() -> None:
    top = {p.relative_to(ROOT).as_posix() for p in (ROOT / "streams").glob("*.py")} - {"streams/__init__.py"}
    assert top == set(SHARED)


@pytest.mark.parametrize(
    ("source", "module", "forbidden"),
    [
        ("from streams.worker.desk import Desk", "streams.web.board", ("streams.worker",)),
        ("import streams.worker.agents", "streams.web.routes", ("streams.worker",)),
        ("from streams.worker import agents", "streams.web.routes", ("streams.worker",)),
        ("from ..worker import desk", "streams.web.routes", ("streams.worker",)),
        ("def f():\n    from streams import web\n", "streams.codec", ("streams.web",)),
        ("from streams.codec import encode", "rules.office", ("streams", "oversight")),
        ("import oversight.labels", "schemas.records", ("streams", "oversight")),
    ],
)
def test_the_check_catches_a_violating_import(source: str, module: str, forbidden: tuple[str, ...]) -> None:
    assert violations(source, module, forbidden)


def test_the_check_lets_an_allowed_import_pass() -> None:
    assert not violations(
        "from streams import metrics\nfrom streams.reading import Reader",
        "streams.web.x",
        ("streams.worker",),
    )
    assert not violations("from streams.webby import x", "streams.codec", ("streams.web",))
