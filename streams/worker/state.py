"""Keeps each office's core state in a changelog-backed table, one small entry per table key."""

from collections.abc import Callable, MutableMapping
from datetime import datetime
from typing import Any

from rules.office import Office
from rules.policy import Policy

_SEP = "\x1f"


def table_key(office_id: str, kind: str, key: str) -> str:
    return f"{office_id}{_SEP}{kind}{_SEP}{key}"


class OfficeStates:
    """Offices rebuilt from the table on first use in this assignment, written back entry by entry."""

    def __init__(
        self, policies: dict[str, Policy], table: MutableMapping[str, Any], wall: Callable[[], datetime]
    ) -> None:
        self.policies = policies
        self.table = table
        self.wall = wall
        self.cache: dict[str, Office] = {}

    def get(self, office_id: str) -> Office:
        office = self.cache.get(office_id)
        if office is None:
            prefix = f"{office_id}{_SEP}"
            entries = (
                (tuple(k[len(prefix) :].split(_SEP, 1)), v)
                for k, v in list(self.table.items())
                if isinstance(k, str) and k.startswith(prefix)
            )
            office = Office.restore(self.policies[office_id], self.wall, entries)  # type: ignore[arg-type]
            self.cache[office_id] = office
        return office

    def save(self, office: Office) -> None:
        """Must run inside the agent handling the event, so the changelog goes to its partition."""
        office_id = office.policy.office_id
        for (kind, key), value in office.take_changes().items():
            name = table_key(office_id, kind, key)
            if value is None:
                self.table.pop(name, None)
            else:
                self.table[name] = value

    def forget(self) -> None:
        """After a rebalance another worker may have moved an office on: rebuild from the table."""
        self.cache.clear()
