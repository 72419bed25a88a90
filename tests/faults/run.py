"""One fault run from start to figures: the short one (pytest) and `make faults` share it."""

import asyncio
import time
from dataclasses import dataclass

from tests.faults.audit import Figures, audit
from tests.faults.harness import RunSettings, running_harness
from tests.faults.injector import Fault, inject_faults
from tests.faults.stream import run_stream

SHORT = RunSettings(backups=24, interval=2.5, fault_period=3.0, s3_outage=15.0, restore_sample=None)
FULL = RunSettings(backups=200, interval=1.5, fault_period=12.0, s3_outage=30.0, restore_sample=40)


@dataclass
class Report:
    settings: RunSettings
    figures: Figures
    faults: list[Fault]
    staging_kind: str
    seconds: float


async def run_faults(settings: RunSettings) -> Report:
    began = time.monotonic()
    async with running_harness(settings) as harness:
        stream_done = asyncio.Event()
        requests, faults = await asyncio.gather(
            run_stream(harness, stream_done), inject_faults(harness, stream_done)
        )
        figures = await audit(harness, requests)
        for fault in faults:
            fault.started -= began
            fault.ended -= began
        return Report(settings, figures, faults, harness.staging.kind, time.monotonic() - began)


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
        ),
        "",
        f"| {'figure':<{width}} | {'value':>6} |",
        f"|{'-' * (width + 2)}|{'-' * 8}|",
    ]
    lines += [f"| {labels[name]:<{width}} | {value:>6} |" for name, value in figures.values.items()]
    lines += ["", "Faults injected (seconds from the start):"]
    lines += [f"- {f.started:6.1f} - {f.ended:6.1f}  {f.name}: {f.note}" for f in report.faults]
    for name, items in figures.details.items():
        lines += ["", f"{name}:"]
        lines += [f"- {item}" for item in items[:20]]
        if len(items) > 20:
            lines.append(f"- ... and {len(items) - 20} more")
    return "\n".join(lines)
