"""Descent Lab: watch gradient descent solve A x = b.

python main.py                         open the window on the default problem
python main.py SESSION.json            open the window on a session
python main.py --headless SESSION.json [--out history.csv] [--json] [--no-analysis]
python main.py --sweep SPEC.json [--out map.csv] [--json]   a map of one or two settings
python main.py --self-test             check a build end to end and exit 0 on success
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import warnings

from solver.core.threads import apply_env_policy

# Before anything imports torch or numpy (the window, the headless runner, the self-test, a
# frozen bundle's multiprocessing child alike): their thread pools read it as they load. The
# headless runner's threads spin briefly, the window's never (``solver.core.threads``).
apply_env_policy(headless=any(a.split("=")[0] in ("--headless", "--sweep") for a in sys.argv[1:]))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="DescentLab", description="Watch gradient descent solve Ax=b.")
    p.add_argument("session", nargs="?", help="a session file to open in the window")
    p.add_argument("--headless", metavar="SESSION.json", help="run a session without a window")
    p.add_argument(
        "--sweep", metavar="SPEC.json", help="run a session at every cell of a grid of settings"
    )
    p.add_argument(
        "--out", metavar="history.csv", help="with --headless: the history; with --sweep: the map"
    )
    p.add_argument(
        "--json", action="store_true", help="with --headless or --sweep: print a JSON summary"
    )
    p.add_argument(
        "--no-analysis",
        action="store_true",
        help="with --headless: skip the analysis (its JSON fields are null)",
    )
    p.add_argument("--self-test", action="store_true", help="check the app end to end and exit")
    args = p.parse_args(argv)
    if args.headless and args.sweep:
        p.error("--headless and --sweep are one or the other")
    if ((args.out or args.json) and not args.sweep or args.no_analysis) and not args.headless:
        p.error("--out, --json and --no-analysis go with --headless (--out, --json: or --sweep)")
    return args


def main(argv: list[str] | None = None) -> int:
    multiprocessing.freeze_support()
    if getattr(sys, "frozen", False):
        # The bundle carries torch's compiled modules without their sources; torch notes
        # each source-less overload at import, which says nothing to a user.
        warnings.filterwarnings("ignore", message="Unable to retrieve source for @torch.jit")
    args = parse_args(argv)
    if args.headless:
        from solver.headless import run_headless

        return run_headless(args)
    if args.sweep:
        from solver.headless import run_sweep_headless

        return run_sweep_headless(args)
    from gui.platform_check import platform_problem

    problem = platform_problem()
    if problem:
        print(f"error: cannot open the window: {problem}", file=sys.stderr)
        return 3
    # The window module shows itself before torch finishes importing.
    from gui.app import run_app

    return run_app(args)


if __name__ == "__main__":
    sys.exit(main())
