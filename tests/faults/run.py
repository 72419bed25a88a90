"""One fault run from start to figures: the short one (pytest) and `make faults` share it."""

import asyncio
import random
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.faults.audit import Figures, audit, count_in_flight
from tests.faults.harness import Harness, RunSettings, running_harness
from tests.faults.injector import CYCLE, Fault, inject
from tests.faults.stream import Request, send_requests

SHORT = RunSettings(
    backups=3 * len(CYCLE), burst=3, interval=1.0, fault_period=2.0, s3_outage=15.0,
    restore_sample=None,
)  # fmt: skip
FULL = RunSettings(
    backups=200, burst=5, interval=1.0, fault_period=4.0, s3_outage=30.0, restore_sample=40
)


@dataclass
class Report:
    settings: RunSettings
    figures: Figures
    faults: list[Fault]
    staging_kind: str
    seconds: float
    phases: dict[str, float] = field(default_factory=dict)
    """Seconds spent starting everything, under faults, and checking (settling included)."""
    seed: int = 0
    logs: Path | None = None


async def run_faults(settings: RunSettings) -> Report:
    """One run; its logs are kept (and named in the report) only when a figure is wrong."""
    began = time.monotonic()
    seed = random.randrange(2**32)
    random.seed(seed)  # which replica dies and which snapshots are sampled; printed to replay
    async with running_harness(settings) as harness:
        phases = {"setup": time.monotonic() - began}
        requests: list[Request] = []
        faults = await drive(harness, requests)
        phases["faults"] = time.monotonic() - began - phases["setup"]
        figures = await audit(harness, requests)
        phases["checks"] = time.monotonic() - began - phases["setup"] - phases["faults"]
        for fault in faults:
            fault.started -= began
            fault.ended -= began
        work = harness.stack.log_dir.parent
        report = Report(settings, figures, faults, harness.staging.kind, 0.0, phases, seed)
    report.seconds = time.monotonic() - began
    if figures.nonzero():
        report.logs = harness.stack.log_dir
    else:
        shutil.rmtree(work, ignore_errors=True)
    return report


async def drive(harness: Harness, requests: list[Request]) -> list[Fault]:
    """A burst of requests per fault: the fault strikes while its burst is still arriving,
    so requests are accepted during the fault and earlier ones are in flight through it."""
    settings = harness.settings
    faults: list[Fault] = []
    for index, first in enumerate(range(0, settings.backups, settings.burst)):
        count = min(settings.burst, settings.backups - first)
        burst = asyncio.create_task(send_requests(harness, requests, first=first, count=count))
        await asyncio.sleep(settings.interval * (count // 2) + 0.5)
        faults.append(await inject(harness, index, lambda: count_in_flight(harness, requests)))
        await burst
        await asyncio.sleep(settings.fault_period)
    return faults


def format_report(report: Report) -> str:
    """The table `make faults` prints and docs/reliability.md records."""
    figures = report.figures
    labels = {
        name: name + (" (must be 0)" if name in figures.must_be_zero else "")
        for name in figures.values
    }
    width = max(len(label) for label in labels.values())
    lines = [
        (
            f"Fault run: {report.settings.backups} backups, {report.settings.replicas} replicas"
            f" of dumper and uploader, staging on a {report.staging_kind}, {report.seconds:.0f} s"
            f" ({', '.join(f'{k} {v:.0f} s' for k, v in report.phases.items())}),"
            f" random seed {report.seed}"
        ),
        "",
        f"| {'figure':<{width}} | {'value':>6} |",
        f"|{'-' * (width + 2)}|{'-' * 8}|",
    ]
    lines += [f"| {labels[name]:<{width}} | {value:>6} |" for name, value in figures.values.items()]
    lines += ["", "Faults injected (seconds from the start):"]
    lines += [
        f"- {f.started:6.1f} - {f.ended:6.1f} s  {f.name} ({_in_flight(f)}): {f.note}"
        for f in report.faults
    ]
    for name, items in figures.details.items():
        lines += ["", f"{name}:"]
        lines += [f"- {item}" for item in items[:20]]
        if len(items) > 20:
            lines.append(f"- ... and {len(items) - 20} more")
    if report.logs:
        lines += ["", f"The services' logs are kept in {report.logs}"]
    return "\n".join(lines)


def _in_flight(fault: Fault) -> str:
    return "in flight: ?" if fault.in_flight is None else f"in flight: {fault.in_flight}"
