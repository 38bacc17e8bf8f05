"""The headless runner: execute a session file without a window.

python main.py --headless SESSION.json [--out history.csv] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys

from . import session as sessions
from .engine import Run
from .errors import InputError


def run_headless(args: argparse.Namespace) -> int:
    try:
        s = sessions.load(args.headless)
        run = Run(s)
    except InputError as exc:
        print(f"error: {args.headless}: {exc}", file=sys.stderr)
        return 2
    run.advance()
    if args.out:
        try:
            run.history.to_csv(args.out, run.history_columns())
        except OSError as exc:
            print(f"error: --out {args.out}: cannot write: {exc}", file=sys.stderr)
            return 2
    result = run.result()
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{result['message']}; {result['iterations']} iterations, "
            f"final loss {run.final_loss:.6g}, error {run.error_norm():.3g}"
        )
    return 1 if run.stop_reason is not None and run.stop_reason.value == "error" else 0
