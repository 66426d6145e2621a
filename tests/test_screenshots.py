"""README.md shows the screenshots `make screenshots` retakes, and the journeys take them."""
from __future__ import annotations

import re
from pathlib import Path

from tests.support.journeys import README_PDF_SCREENSHOTS, README_SCREENSHOTS

ROOT = Path(__file__).resolve().parents[1]


def test_readme_shows_the_screenshots_the_journeys_retake():
    shown = set(re.findall(r"\(docs/screenshots/([\w-]+)\.png\)", (ROOT / "README.md").read_text()))
    assert shown == README_SCREENSHOTS | README_PDF_SCREENSHOTS
    for name in shown:
        assert (ROOT / "docs" / "screenshots" / f"{name}.png").stat().st_size > 0, name
    # What a newcomer should see: the roster on a phone, a verification, a dashboard.
    assert "roster-phone" in shown
    assert any(name.startswith("verification-") for name in shown)
    assert any("dashboard" in name for name in shown)


def test_every_readme_screenshot_is_taken_by_a_journey():
    journeys = " ".join(path.read_text() for path in (ROOT / "tests" / "e2e").glob("test_*.py"))
    taken = set(re.findall(r"""\.shot\(["']([\w-]+)["']\)""", journeys))
    for name in README_SCREENSHOTS:
        page, _, width = name.rpartition("-")
        assert width in ("phone", "desktop") and page in taken, f"no journey takes {name}"
    for name in README_PDF_SCREENSHOTS:
        assert f'"{name}"' in journeys, f"no journey renders {name}"
