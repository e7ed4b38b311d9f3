"""Command line: python -m autograder {build,grade,batch,demo} ..."""
from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="regenerate release/ and solutions/ from source/ and the rubric")
    args = parser.parse_args(argv)
    if args.command == "build":
        from .build import main as build_main
        build_main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
