"""A readiness verdict: each prerequisite met or not, and the verdict in one line. Pure."""

from dataclasses import asdict, dataclass

READY = "ready for point-in-time recovery"


@dataclass(frozen=True)
class Prerequisite:
    """One prerequisite of archiving, met or not, in a sentence."""

    check: str
    ok: bool
    detail: str

    def public(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Readiness:
    """Every prerequisite, and the verdict in one line."""

    checks: tuple[Prerequisite, ...]
    not_checked: str | None = None
    """Why nothing was checked (the ordinary test failed first); None when checked."""

    @property
    def ready(self) -> bool:
        return self.not_checked is None and all(c.ok for c in self.checks)

    @property
    def summary(self) -> str:
        """`ready for point-in-time recovery: no: <each reason>`."""
        if self.not_checked is not None:
            return f"{READY}: not checked: {self.not_checked}"
        if self.ready:
            return f"{READY}: yes"
        return f"{READY}: no: " + "; ".join(c.detail for c in self.checks if not c.ok)

    def public(self) -> dict[str, object]:
        return {
            "ready": self.ready,
            "summary": self.summary,
            "checks": [c.public() for c in self.checks],
        }


def not_checked(reason: str) -> Readiness:
    """The verdict when the prerequisites could not be asked: `authenticated failed`."""
    return Readiness((), not_checked=reason)
