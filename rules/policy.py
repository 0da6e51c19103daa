"""Per-office policy: the values the decree leaves to each office, validated on load."""

import tomllib
from functools import cached_property
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    field_validator,
    model_validator,
)

# Strict: a TOML string "7200" where a number belongs is a mistake to report, not to coerce.
Seconds = Annotated[int, Field(gt=0, strict=True)]
Text = Annotated[str, Field(strict=True)]


class Policy(BaseModel):
    """One office's compensation policy (one TOML file per office)."""

    model_config = ConfigDict(frozen=True, extra="forbid", ignored_types=(cached_property,))

    office_id: str = Field(min_length=1, max_length=128, pattern=r"^[^*]+$", strict=True)
    policy_id: str = Field(min_length=1, strict=True)
    office_name: str = Field(min_length=1, strict=True)
    decree: Text = ""
    example: StrictBool = False
    time_zone: Text
    threshold_s: Seconds
    warn_after_s: Seconds | None = None
    allowed_lateness_s: Annotated[float, Field(gt=0, strict=True)] = 60.0  # an int is a float here
    covered_services: frozenset[StrictStr]
    damaged_or_lost_services: frozenset[StrictStr]
    online_channels: frozenset[StrictStr]
    smart_registration_required: StrictBool
    priority_prefix: str = Field(min_length=1, max_length=8, strict=True)
    compensation: tuple[StrictStr, ...] = Field(min_length=1)
    # Days a decided ticket is kept after its service day, for late facts and late claims.
    keep_days: Seconds = 2

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
