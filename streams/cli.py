"""The `kompensasi` command: replay, worker, broker, demo, schemas."""

import argparse
import os
import sys

from streams.policies import PolicyError, load_policies

DEFAULT_BROKER = "kafka://127.0.0.1:9092"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kompensasi", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    replay = sub.add_parser("replay", help="apply the rules to a JSON Lines file, print the records")
    replay.add_argument(
        "--policy", action="append", metavar="PATH", help="policy file or folder (repeatable)"
    )
    replay.add_argument("input", metavar="INPUT.jsonl")

    worker = sub.add_parser("worker", help="run the Faust worker on Kafka")
    worker.add_argument(
        "--policy", action="append", metavar="PATH", help="policy file or folder (repeatable)"
    )
    worker.add_argument("--broker", default=os.environ.get("KOMPENSASI_BROKER", DEFAULT_BROKER))
    worker.add_argument("--web-port", type=int, default=int(os.environ.get("KOMPENSASI_WEB_PORT", "6066")))
    worker.add_argument(
        "--partitions",
        type=int,
        default=int(os.environ.get("KOMPENSASI_PARTITIONS", "4")),
        help="partitions of the topics it creates (all input topics must have the same count)",
    )
    worker.add_argument("--data-dir", default=os.environ.get("KOMPENSASI_DATA_DIR", "kompensasi-data"))
    worker.add_argument(
        "--status-interval",
        type=float,
        default=float(os.environ.get("KOMPENSASI_STATUS_INTERVAL", "10")),
        help="seconds between office status records",
    )
    worker.add_argument("--loglevel", default=os.environ.get("KOMPENSASI_LOG_LEVEL", "info"))

    demo = sub.add_parser("demo", help="a simulated office day through the embedded broker and a worker")
    demo.add_argument("--policy", action="append", metavar="PATH", help="policy file or folder")
    demo.add_argument("--applicants", type=int, default=300)
    demo.add_argument("--seconds", type=float, default=60.0, help="wall time for the office day")

    broker = sub.add_parser("broker", help="run the embedded Kafka-compatible broker in the foreground")
    broker.add_argument("--port", type=int, default=9092)

    schemas = sub.add_parser("schemas", help="write the JSON Schema of every topic under schemas/json")
    schemas.add_argument("--out", default=None, metavar="DIR")

    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        policies = load_policies(getattr(args, "policy", None))
    except PolicyError as exc:
        print(f"kompensasi: {exc}", file=sys.stderr)
        return 2
    if args.command == "replay":
        from streams.replay import main_replay

        return main_replay(args.input, policies)
    if args.command == "worker":
        from streams.worker import Settings, run_worker

        settings = Settings(
            policies=policies,
            broker=args.broker,
            web_port=args.web_port,
            partitions=args.partitions,
            data_dir=args.data_dir,
            status_interval_s=args.status_interval,
        )
        return run_worker(settings, loglevel=args.loglevel)
    if args.command == "broker":
        from streams.broker import serve

        return serve(args.port)
    if args.command == "demo":
        from streams.demo import run_demo

        return run_demo(policies, args.applicants, args.seconds)
    if args.command == "schemas":
        return _write_schemas(args.out)
    return 2


def _write_schemas(out: str | None) -> int:
    from pathlib import Path

    import schemas
    from schemas.export import topic_schemas

    folder = Path(out) if out else Path(schemas.__file__).parent / "json"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in topic_schemas().items():
        (folder / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(topic_schemas())} schemas to {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
