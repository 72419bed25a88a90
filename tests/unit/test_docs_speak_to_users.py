"""README.md and docs/ speak to users: no issue numbers, no promises of what comes "soon", and
their screenshots are pages of the browser tests (`make screenshots`), so they never drift
from the UI."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HISTORY = re.compile(r"issue [0-9]|soon", re.IGNORECASE)
"""The words `grep -rniE "issue [0-9]|soon" README.md docs/` looks for."""
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")
DOC_SHOT = re.compile(r"""\bdoc=["']([\w-]+)["']""")


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted(p for p in (ROOT / "docs").rglob("*") if p.is_file())]


def readable(path: Path) -> str | None:
    try:
        return path.read_text()
    except UnicodeDecodeError:  # the images
        return None


def screenshots_of_the_browser_tests() -> set[str]:
    """The docs' image names taken by a browser test marked doc_screenshots."""
    names = set()
    for test in (ROOT / "tests" / "e2e" / "ui").glob("test_*.py"):
        source = test.read_text()
        if "pytest.mark.doc_screenshots" in source:
            names |= set(DOC_SHOT.findall(source))
    return names


class TestDocsSpeakToUsers:
    def test_no_issue_numbers_and_nothing_coming_soon(self):
        found = [
            f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
            for path in documents()
            if (text := readable(path)) is not None
            for number, line in enumerate(text.splitlines(), 1)
            if HISTORY.search(line)
        ]
        assert found == []

    def test_readme_shows_a_screenshot(self):
        images = IMAGE.findall((ROOT / "README.md").read_text())
        assert any(image.startswith("docs/images/") for image in images), images

    def test_every_screenshot_shown_is_a_page_of_the_browser_tests(self):
        taken = screenshots_of_the_browser_tests()
        for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
            for image in IMAGE.findall(path.read_text()):
                file = (path.parent / image).resolve()
                assert file.is_file(), f"{path.name} shows {image}, which does not exist"
                assert file.parent == ROOT / "docs" / "images", image
                assert file.stem in taken, f"{image} is not taken by a doc_screenshots test"

    def test_the_checks_see_what_they_look_for(self):
        assert HISTORY.search("built in Issue 8")
        assert HISTORY.search("coming soon")
        assert IMAGE.findall("x ![a shot](docs/images/a.png) y") == ["docs/images/a.png"]
        assert DOC_SHOT.findall('shots.take(page, "5", doc="snapshots")') == ["snapshots"]
