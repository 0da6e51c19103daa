"""The `kompensasi` command: replay, worker, broker, demo, report, schemas."""

import argparse
import logging
import os
import sys

from streams.commands.policies import PolicyError, load_policies
from streams.settings import OPTIONS, SettingError, settings_from, values


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kompensasi", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    replay = sub.add_parser("replay", help="apply the rules to a JSON Lines file, print the records")
    replay.add_argument(
        "--policy", action="append", metavar="PATH", help="policy file or folder (repeatable)"
    )
    replay.add_argument(
        "--jobs", type=_positive, default=None, metavar="N",
        help="processes, the offices split over them (default: the number of cores)",
    )  # fmt: skip
    replay.add_argument("input", metavar="INPUT.jsonl")

    worker = sub.add_parser(
        "worker", help="run the Faust worker on Kafka (settings: flags, else environment)"
    )
    for option in OPTIONS:
        if option.field == "policy_paths":
            worker.add_argument(
                "--policy", action="append", metavar="PATH",
                help=f"policy file or folder, repeatable (${option.env}: :-separated; default: shipped)",
            )  # fmt: skip
        else:
            worker.add_argument(
                option.flag, dest=option.field, type=option.kind, default=None,
                help=f"{option.help} (${option.env}, default {option.default or 'none'})",
            )  # fmt: skip

    demo = sub.add_parser("demo", help="a simulated office day through the embedded broker and a worker")
    demo.add_argument("--policy", action="append", metavar="PATH", help="policy file or folder")
    demo.add_argument("--applicants", type=int, default=300)
    demo.add_argument("--seconds", type=float, default=60.0, help="wall time for the office day")

    broker = sub.add_parser("broker", help="run the embedded Kafka-compatible broker in the foreground")
    broker.add_argument("--port", type=int, default=9092)

    report = sub.add_parser(
        "report", help="the evaluation report of an office (HTML, PDF, JSON) from its decision log"
    )
    report.add_argument("--policy", action="append", metavar="PATH", help="policy file or folder")
    report.add_argument("--office", required=True, metavar="ID")
    report.add_argument("--from", dest="first", required=True, metavar="DATE", help="first day, YYYY-MM-DD")
    report.add_argument("--to", dest="last", required=True, metavar="DATE", help="last day, YYYY-MM-DD")
    report.add_argument(
        "--input", action="append", metavar="FILE",
        help="replay output, or input events for calls and outages (JSON Lines; repeatable)",
    )  # fmt: skip
    report.add_argument("--broker", metavar="URL", help="read the topics from the beginning instead")
    report.add_argument("--out", required=True, metavar="DIR")
    report.add_argument(
        "--public", action="store_true", help="the public summary: monthly, small cells masked"
    )

    schemas = sub.add_parser("schemas", help="write the JSON Schema of every topic under schemas/json")
    schemas.add_argument("--out", default=None, metavar="DIR")

    return parser


def main(argv: list[str] | None = None) -> int:
    # Before the worker installs its handler, logging's last resort would print aiokafka's errors
    # beside our one-line message; the worker's handler on the root logger still gets them.
    library = logging.getLogger("aiokafka")
    if not any(isinstance(h, logging.NullHandler) for h in library.handlers):
        library.addHandler(logging.NullHandler())
    args = _parser().parse_args(argv)
    try:
        chosen = values(os.environ, vars(args))
    except SettingError as exc:
        print(f"kompensasi: {exc}", file=sys.stderr)
        return 2
    paths = getattr(args, "policy", None)
    if args.command == "worker" and not paths and chosen["policy_paths"]:
        paths = chosen["policy_paths"].split(":")
    try:
        policies = load_policies(paths)
    except PolicyError as exc:
        print(f"kompensasi: {exc}", file=sys.stderr)
        return 2
    if args.command == "replay":
        from streams.commands.replay import main_replay

        return main_replay(args.input, policies, args.jobs)
    if args.command == "worker":
        from aiokafka.errors import KafkaConnectionError

        from streams.worker.app import run_worker

        try:
            return run_worker(settings_from(policies, chosen))
        except KafkaConnectionError:
            print(unreachable(chosen["broker"]), file=sys.stderr)
            return 1
    if args.command == "broker":
        from streams.commands.broker import serve

        return serve(args.port)
    if args.command == "demo":
        from streams.commands.demo import run_demo

        return run_demo(policies, args.applicants, args.seconds)
    if args.command == "report":
        from streams.commands.report import main_report

        return main_report(
            policies, args.office, args.first, args.last, args.input, args.broker, args.out, args.public,
            settings_from(policies, chosen),
        )  # fmt: skip
    if args.command == "schemas":
        return _write_schemas(args.out)
    return 2


def unreachable(broker: str) -> str:
    return (
        f"kompensasi: no Kafka broker answers at {broker} (--broker, $KOMPENSASI_BROKER): start one "
        "(`kompensasi broker`) or give its address"
    )


def _write_schemas(out: str | None) -> int:
    from pathlib import Path

    import schemas
    from schemas import asyncapi
    from schemas.export import topic_schemas

    base = Path(schemas.__file__).parent
    folder = Path(out) if out else base / "json"
    folder.mkdir(parents=True, exist_ok=True)
    texts = topic_schemas()
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8")
    document = asyncapi.write(Path(out) if out else base)
    print(f"wrote {len(texts)} JSON Schemas to {folder} and {document}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
