"""Samples every process's command line while the fault suite runs (the secrets scan)."""

import threading

import psutil

INTERVAL = 0.05


class ArgvSampler(threading.Thread):
    """Collects each distinct argv seen; dump tools live for a fraction of a second, so the
    interval is short, but sampling only costs a /proc walk."""

    def __init__(self) -> None:
        super().__init__(daemon=True, name="argv-sampler")
        self.seen: set[str] = set()
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.wait(INTERVAL):
            for proc in psutil.process_iter(["cmdline"]):
                cmdline = proc.info.get("cmdline")
                if cmdline:
                    self.seen.add(" ".join(cmdline))

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=5)
