"""Find installed dump tools and the version each reports (probed once per path)."""

import glob
import shutil
from pathlib import Path

from services.dumper.adapters.process import run_captured
from services.dumper.tools import Tool

VERSION_TIMEOUT = 10.0


class ToolFinder:
    """Looks tools up in versioned PostgreSQL directories, then the search path."""

    def __init__(self, *, postgres_glob: str, search_dirs: list[Path]) -> None:
        self._postgres_glob = postgres_glob
        self._search_path = ":".join(str(d) for d in search_dirs) or None
        self._versions: dict[Path, str] = {}

    def which(self, name: str) -> Path | None:
        found = shutil.which(name, path=self._search_path)
        return Path(found) if found else None

    async def pg_dumps(self) -> list[Tool]:
        """Every distinct pg_dump installed, with its version line."""
        paths = [Path(d) / "pg_dump" for d in sorted(glob.glob(self._postgres_glob))]  # noqa: PTH207 - a configurable glob pattern
        on_path = self.which("pg_dump")
        if on_path:
            paths.append(on_path)
        tools: list[Tool] = []
        seen: set[Path] = set()
        for path in paths:
            real = path.resolve()
            if real in seen or not real.is_file():
                continue
            seen.add(real)
            tools.append(Tool(path=path, version=await self.version(path)))
        return tools

    async def first(self, names: tuple[str, ...]) -> Tool | None:
        """The first of `names` that is installed."""
        for name in names:
            path = self.which(name)
            if path is not None:
                return Tool(path=path, version=await self.version(path))
        return None

    async def version(self, path: Path) -> str:
        """The first line of `<tool> --version`."""
        if path not in self._versions:
            _code, out, err = await run_captured(
                [str(path), "--version"], {"LC_ALL": "C"}, within=VERSION_TIMEOUT
            )
            lines = (out or err).strip().splitlines()
            self._versions[path] = lines[0].strip() if lines else path.name
        return self._versions[path]
