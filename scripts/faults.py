"""`make faults`: the full fault suite — 200 backups through crashes, restarts, a
full staging disk and an S3 outage — and its table of figures.

Exits 1 when any figure that must be 0 (lost, stuck, orphans, staged chunks left, wrong but
completed, failures without a reason, secrets) is not. The short version of the same run is
tests/faults/test_faults_short.py, inside `make test`.
"""

import argparse
import asyncio
import dataclasses
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from tests.faults.run import FULL, format_report, run_faults


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backups", type=int, default=FULL.backups, help="backups to request")
    parser.add_argument("--output", type=Path, help="also write the table to this file")
    args = parser.parse_args()
    settings = dataclasses.replace(FULL, backups=args.backups)
    report = asyncio.run(run_faults(settings))
    table = format_report(report)
    print(table)
    if args.output:
        args.output.write_text(table + "\n")
    failing = report.figures.nonzero()
    if failing:
        print(f"\nFAILED: must be 0 but are not: {', '.join(failing)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
