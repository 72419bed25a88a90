"""The last step of `make run`: wait for the stack, then say where the API listens.

It stays running afterwards, since honcho stops every process when one exits.
"""

import os
import sys
import threading
import time

import httpx

PORTS = {"api": 8000, "dumper": 8001, "uploader": 8002, "catalog": 8003}
TIMEOUT = 60.0


def wait_ready() -> bool:
    deadline = time.monotonic() + TIMEOUT
    for service, default in PORTS.items():
        port = int(os.environ.get(f"{service.upper()}_HTTP_PORT", default))
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                print(f"sample: {service} is not ready after {TIMEOUT:.0f}s", file=sys.stderr)
                return False
            time.sleep(0.5)
    return True


def main() -> None:
    if not wait_ready():
        sys.exit(1)
    port = os.environ.get("API_HTTP_PORT", "8000")
    print(f"sample: every service is ready; the API listens on http://127.0.0.1:{port}")
    print(f"sample: OpenAPI docs at http://127.0.0.1:{port}/docs")
    threading.Event().wait()


if __name__ == "__main__":
    main()
