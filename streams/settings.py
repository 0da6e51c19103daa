"""Worker settings: one table of environment variables, each overridable by a flag."""

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from rules.policy import Policy


@dataclass(frozen=True)
class Option:
    field: str
    env: str
    flag: str
    default: str
    help: str
    kind: type = str
    choices: tuple[str, ...] = ()  # compared without case


# The README's configuration table is this list.
OPTIONS: tuple[Option, ...] = (
    Option("broker", "KOMPENSASI_BROKER", "--broker", "kafka://127.0.0.1:9092", "broker URLs, ;-separated"),
    Option("web_port", "KOMPENSASI_WEB_PORT", "--web-port", "6066", "port of the web server", int),
    Option("web_host", "KOMPENSASI_WEB_HOST", "--web-host", "127.0.0.1", "address the web server binds"),
    Option("partitions", "KOMPENSASI_PARTITIONS", "--partitions", "4", "partitions of created topics", int),
    Option(
        "replication_factor", "KOMPENSASI_REPLICATION_FACTOR", "--replication-factor", "1",
        "replication factor of the topics it creates", int,
    ),
    Option("data_dir", "KOMPENSASI_DATA_DIR", "--data-dir", "kompensasi-data", "local state folder"),
    Option(
        "fetch_wait_ms", "KOMPENSASI_FETCH_WAIT_MS", "--fetch-wait-ms", "20",
        "longest wait of a fetch for records (Faust's is 1500; 500 on Apache Kafka)", int,
    ),
    Option(
        "max_idle_s", "KOMPENSASI_MAX_IDLE", "--max-idle", "3",
        "seconds an input partition, caught up, stays quiet before it stops holding its office's clock",
        float,
    ),
    Option(
        "processing_guarantee", "KOMPENSASI_PROCESSING_GUARANTEE", "--processing-guarantee", "at_least_once",
        "at_least_once, or exactly_once on Apache Kafka (needs transactions)",
        choices=("at_least_once", "exactly_once"),
    ),
    Option(
        "security_protocol", "KOMPENSASI_SECURITY_PROTOCOL", "--security-protocol", "PLAINTEXT",
        "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL",
        choices=("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"),
    ),
    Option("sasl_mechanism", "KOMPENSASI_SASL_MECHANISM", "--sasl-mechanism", "SCRAM-SHA-512", "mechanism"),
    Option("sasl_username", "KOMPENSASI_SASL_USERNAME", "--sasl-username", "", "SASL user"),
    Option("sasl_password", "KOMPENSASI_SASL_PASSWORD", "--sasl-password", "", "SASL password"),
    Option("ssl_cafile", "KOMPENSASI_SSL_CAFILE", "--ssl-cafile", "", "CA bundle for TLS"),
    Option(
        "status_interval_s", "KOMPENSASI_STATUS_INTERVAL", "--status-interval", "10",
        "seconds between office status records", float,
    ),
    Option("log_level", "KOMPENSASI_LOG_LEVEL", "--loglevel", "info", "log level"),
    Option("policy_paths", "KOMPENSASI_POLICIES", "--policy", "", "policy files or folders, :-separated"),
    Option("staff_tokens", "KOMPENSASI_STAFF_TOKENS", "--staff-tokens", "", "staff tokens, ,-separated"),
    Option(
        "inspector_tokens", "KOMPENSASI_INSPECTOR_TOKENS", "--inspector-tokens", "",
        "read-only inspector tokens, ,-separated",
    ),
    Option("tokens_file", "KOMPENSASI_TOKENS_FILE", "--tokens-file", "", "file of `role token` lines"),
    Option(
        "audit_timeout_s", "KOMPENSASI_AUDIT_TIMEOUT", "--audit-timeout", "30",
        "seconds an audit trail may spend reading the log", float,
    ),
)  # fmt: skip

ENV_VARS = frozenset(o.env for o in OPTIONS)


@dataclass
class Settings:
    policies: list[Policy]
    broker: str = "kafka://127.0.0.1:9092"
    web_port: int = 6066
    web_host: str = "127.0.0.1"
    partitions: int = 4
    replication_factor: int = 1
    data_dir: str = "kompensasi-data"
    fetch_wait_ms: int = 20
    processing_guarantee: str = "at_least_once"
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str = "SCRAM-SHA-512"
    sasl_username: str = ""
    sasl_password: str = field(default="", repr=False)
    ssl_cafile: str = ""
    status_interval_s: float = 10.0
    log_level: str = "info"
    staff_tokens: str = field(default="", repr=False)
    inspector_tokens: str = field(default="", repr=False)
    tokens_file: str = ""
    audit_timeout_s: float = 30.0
    app_id: str = "kompensasi"
    tick_interval_s: float = 1.0
    max_idle_s: float = 3.0


class SettingError(ValueError):
    """A setting's value that cannot be used; the message names the flag or variable and the fix."""


KINDS = {int: "a whole number", float: "a number"}


def values(environ: Mapping[str, str], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Each option from its flag when given, else its environment variable, else its default."""
    out: dict[str, Any] = {}
    for option in OPTIONS:
        given = overrides.get(option.field)
        source = option.flag if given is not None else option.env if option.env in environ else "default"
        raw = given if given is not None else environ.get(option.env, option.default)
        try:
            value = option.kind(raw)
        except ValueError:
            kind = KINDS.get(option.kind, option.kind.__name__)
            raise SettingError(f"{source}={raw!r} is not {kind}: set it like {option.default}") from None
        if option.choices and str(value).lower() not in {c.lower() for c in option.choices}:
            raise SettingError(
                f"{source}={raw!r} is not one of {', '.join(option.choices)}: set it to one of them"
            )
        out[option.field] = value
    return out


def settings_from(policies: list[Policy], chosen: Mapping[str, Any]) -> Settings:
    known = {f.name for f in fields(Settings)}
    return Settings(policies=policies, **{k: v for k, v in chosen.items() if k in known})
