"""Per-office policy: the values the decree leaves to each office, validated on load."""

import tomllib
from functools import cached_property
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveFloat,
    PositiveInt,
    field_validator,
    model_validator,
)


class Policy(BaseModel):
    """One office's compensation policy (one TOML file per office)."""

    model_config = ConfigDict(frozen=True, extra="forbid", ignored_types=(cached_property,))

    office_id: str = Field(min_length=1, max_length=128, pattern=r"^[^*]+$")
    policy_id: str = Field(min_length=1)
    office_name: str = Field(min_length=1)
    decree: str = ""
    example: bool = False
    time_zone: str
    threshold_s: PositiveInt
    warn_after_s: PositiveInt | None = None
    allowed_lateness_s: PositiveFloat = 60.0
    covered_services: frozenset[str]
    damaged_or_lost_services: frozenset[str]
    online_channels: frozenset[str]
    smart_registration_required: bool
    priority_prefix: str = Field(min_length=1, max_length=8)
    compensation: tuple[str, ...] = Field(min_length=1)
    # Days a decided ticket is kept after its service day, for late facts and late claims.
    keep_days: PositiveInt = 2

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _warning_before_threshold(self) -> "Policy":
        if self.warn_after_s is not None and self.warn_after_s >= self.threshold_s:
            raise ValueError("warn_after_s must be less than threshold_s")
        return self

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @cached_property
    def threshold_us(self) -> int:
        return self.threshold_s * 1_000_000

    @cached_property
    def lateness_us(self) -> int:
        return round(self.allowed_lateness_s * 1_000_000)


def parse_policy(text: str) -> Policy:
    """Validates the text of one policy file."""
    return Policy.model_validate(tomllib.loads(text))
