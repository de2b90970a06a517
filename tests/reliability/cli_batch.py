"""Run several `migrator` command lines through the CLI's entry point (``migrator.cli.main``)
in one interpreter, to spare the crash trials four Python start-ups per check:

    python -m tests.reliability.cli_batch '[["--database", "...", "verify"], ...]'

Prints a JSON list: one ``{"argv", "code", "out", "err"}`` per command line.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys

from migrator.cli import main as migrator_main


def run_all(command_lines: list[list[str]]) -> list[dict]:
    results = []
    for args in command_lines:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = migrator_main(args)
            except SystemExit as exc:  # argparse errors
                code = exc.code if isinstance(exc.code, int) else 1
        results.append({"argv": args, "code": code, "out": out.getvalue(), "err": err.getvalue()})
    return results


if __name__ == "__main__":
    print(json.dumps(run_all(json.loads(sys.argv[1]))))
