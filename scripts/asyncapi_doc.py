"""Write the AsyncAPI document of each service to docs/asyncapi/<service>.json.

`--check` writes nothing: it exits 1 when a committed document differs from the code
(run `make docs` to regenerate).
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.asyncapi import SERVICES, render, undocumented_events

DOCS = Path(__file__).resolve().parent.parent / "docs" / "asyncapi"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail when a document drifted")
    args = parser.parse_args()
    missing = undocumented_events()
    if missing:
        print(f"asyncapi: no service publishes {', '.join(missing)}; declare its publisher")
        return 1
    drifted = []
    for service in SERVICES:
        path = DOCS / f"{service}.json"
        text = render(service)
        if args.check:
            if not path.is_file() or path.read_text() != text:
                drifted.append(str(path))
            continue
        DOCS.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"asyncapi: wrote {path}")
    if drifted:
        print(f"asyncapi: out of date: {', '.join(drifted)}; run `make docs`")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
