"""The `kompensasi` command: replay, worker, broker, demo, schemas."""

import argparse
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
    return 2


if __name__ == "__main__":
    sys.exit(main())
