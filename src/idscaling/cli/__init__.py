"""Command-line interface: ``idscaling estimate-id``, ``fit``, ``fit-joint`` and ``fit-coverage``.

Each subcommand prints one JSON object on stdout. Errors in the inputs are
reported as one line on stderr with exit status 2. Non-finite floats (e.g. the
exponent interval of a 2-point fit) are written as JSON ``null``.

Heavy modules (numpy, scikit-learn, pandas, scipy) are imported inside the
subcommands so that ``idscaling --help`` stays fast.
"""

from __future__ import annotations

import json
import sys

from idscaling.cli.common import PROG, CLIError, jsonable
from idscaling.cli.parser import build_parser

__all__ = ["main", "build_parser", "CLIError"]


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status (argparse usage errors exit 2 via SystemExit)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.func(args)
    except CLIError as err:
        message = " ".join(str(err).split())  # always one line
        print(f"{PROG} {args.command}: error: {message}", file=sys.stderr)
        return 2
    print(json.dumps(jsonable(result), indent=2, allow_nan=False))
    return 0
