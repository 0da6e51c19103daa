"""`kompensasi report`: reads an office's decision log (replay output files, or the topics from the
beginning) into the evaluation and writes the report as HTML, PDF and JSON."""

import asyncio
import json
import os
import sys
from collections.abc import Iterable
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
from tqdm import tqdm

from oversight.disclosure import public_summary
from oversight.document import build, to_html, to_pdf
from oversight.evaluation import OfficeEvaluation
from rules.policy import Policy
from schemas.topics import (
    AT_RISK,
    CLAIM_DECISIONS,
    DECISIONS,
    PRIORITY_TICKETS,
    REFERRALS,
    SYSTEM_STATUS,
    TICKETS,
)
from streams.reading import Reader
from streams.settings import Settings

# What the report reads from a broker: the decided records, and the calls and outages they rest on.
REPORT_TOPICS = (DECISIONS, PRIORITY_TICKETS, CLAIM_DECISIONS, AT_RISK, REFERRALS, TICKETS, SYSTEM_STATUS)


class ReportError(Exception):
    """An unusable argument: exit 2."""

    code = 2


class ReportFailure(ReportError):
    """A broker or a folder that fails at run time: exit 1."""

    code = 1


def record_value(line: bytes) -> Any:
    """A replay line `{topic, key, value}` gives its value; a bare event or record is itself."""
    value = orjson.loads(line)
    if isinstance(value, dict) and "topic" in value and "value" in value:
        return value["value"]
    return value


def read_lines(lines: Iterable[bytes], evaluation: OfficeEvaluation) -> int:
    """Feeds JSON Lines to the evaluation; a line that is not JSON is skipped. Returns lines counted."""
    counted = 0
    for line in lines:
        if not line.strip():
            continue
        try:
            value = record_value(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(value, dict) and evaluation.add(value):
            counted += 1
    return counted


def read_files(paths: list[str], evaluation: OfficeEvaluation) -> int:
    counted = 0
    for path in paths:
        try:
            size = Path(path).stat().st_size
            stream = open(path, "rb")  # noqa: SIM115
        except OSError as exc:
            raise ReportError(f"cannot read {path}: {exc.strerror}") from exc
        with stream, tqdm(total=size, unit="B", unit_scale=True, desc=Path(path).name, file=sys.stderr,
                          disable=None, leave=False) as bar:  # fmt: skip

            def lines(stream: Any = stream, bar: tqdm = bar) -> Iterable[bytes]:
                for line in stream:
                    bar.update(len(line))
                    yield line

            counted += read_lines(lines(), evaluation)
    return counted


async def read_topics(
    bootstrap: str, evaluation: OfficeEvaluation, client_options: dict[str, Any], idle_limit_s: float = 30.0
) -> int:
    """Reads the report's topics from the beginning with no consumer group, up to the end each had
    when first fetched. The ends come from the fetch responses' high-water marks: the embedded
    broker under-reports ListOffsets after multi-record batches."""
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.errors import KafkaConnectionError

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, **client_options)
    try:
        await consumer.start()
    except KafkaConnectionError:
        await consumer.stop()  # else aiokafka warns of an unclosed consumer at exit
        raise ReportFailure(
            f"no Kafka broker answers at {bootstrap} (--broker): start one or give its address"
        ) from None
    reader = Reader({evaluation.policy.office_id})
    counted = 0
    try:
        await consumer.topics()  # loads the cluster's metadata
        partitions = [
            TopicPartition(t, p) for t in REPORT_TOPICS for p in consumer.partitions_for_topic(t) or ()
        ]
        if not partitions:
            raise ReportError(f"no report topics on {bootstrap}")
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends: dict[TopicPartition, int] = {}
        idle = 0.0
        with tqdm(unit=" records", desc="topics", file=sys.stderr, disable=None, leave=False) as bar:
            while True:
                batch = await consumer.getmany(timeout_ms=500, max_records=5000)
                for tp, messages in batch.items():
                    for m in messages:
                        # As the worker reads them: no dead-lettered event, no undecodable record.
                        item = reader.read(tp.topic, tp.partition, m.offset, m.value, m.timestamp, key=m.key)
                        if item is not None and evaluation.add(item.model_dump(mode="json")):
                            counted += 1
                    bar.update(len(messages))
                for tp in partitions:
                    if tp not in ends and consumer.highwater(tp) is not None:
                        ends[tp] = consumer.highwater(tp)  # type: ignore[assignment]
                bar.total = sum(ends.values()) or None
                positions = {tp: await consumer.position(tp) for tp in ends}
                if len(ends) == len(partitions) and all(positions[tp] >= end for tp, end in ends.items()):
                    return counted
                idle = 0.0 if batch else idle + 0.5
                if idle > idle_limit_s:
                    raise ReportError("the broker stopped answering before the topics were read to their end")
    finally:
        await consumer.stop()


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ReportError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def writable(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        if not os.access(out, os.W_OK):
            raise PermissionError(13, "permission denied")
    except OSError as exc:
        raise ReportFailure(
            f"--out {out}: cannot write there ({exc.strerror}); give a folder you can write"
        ) from None


def write_report(evaluation: OfficeEvaluation, out: Path, public: bool, now: datetime) -> list[Path]:
    """Writes report.html, report.pdf and report.json (public-*.* for the public summary)."""
    figures = evaluation.evaluation()
    document = build(figures, now, public=public)
    stem = "public" if public else "report"
    out.mkdir(parents=True, exist_ok=True)
    html_path, pdf_path, json_path = (out / f"{stem}.{ext}" for ext in ("html", "pdf", "json"))
    html_path.write_text(to_html(document), encoding="utf-8")
    pdf_path.write_bytes(to_pdf(document))
    data = public_summary(figures) if public else asdict(figures)
    json_path.write_text(json.dumps(data, indent=1, default=str, ensure_ascii=False), encoding="utf-8")
    return [html_path, pdf_path, json_path]


def main_report(
    policies: list[Policy],
    office: str,
    first: str,
    last: str,
    inputs: list[str] | None,
    broker: str | None,
    out: str,
    public: bool,
    settings: Settings,
) -> int:
    try:
        policy = next((p for p in policies if p.office_id == office), None)
        if policy is None:
            raise ReportError(f"no policy for office {office!r}")
        start, end = parse_day(first), parse_day(last)
        if end < start:
            raise ReportError("--to is before --from")
        if bool(inputs) == bool(broker):
            raise ReportError("give --input FILE (repeatable) or --broker URL")
        writable(Path(out))  # before reading: a broker's topics can take minutes
        evaluation = OfficeEvaluation(policy, start, end, daily=not public)
        if inputs:
            counted = read_files(inputs, evaluation)
        else:
            from streams.worker.app import bootstrap_servers, client_options

            counted = asyncio.run(
                read_topics(bootstrap_servers(broker or ""), evaluation, client_options(settings))
            )
        try:
            paths = write_report(evaluation, Path(out), public, datetime.now(UTC).astimezone(policy.zone))
        except OSError as exc:
            raise ReportFailure(f"--out {out}: cannot write there ({exc.strerror or exc})") from None
    except ReportError as exc:
        print(f"kompensasi report: {exc}", file=sys.stderr)
        return exc.code
    print(f"{counted} records counted; wrote {', '.join(str(p) for p in paths)}", file=sys.stderr)
    return 0
