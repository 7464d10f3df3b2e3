"""Every page template's <title> block is plain text (an edit once pasted a whole section into two of them)."""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"
TITLE = re.compile(r"{%\s*block title\s*%}(.*?){%\s*endblock\s*%}", re.S)


def test_title_blocks_hold_no_markup() -> None:
    titles = {path.name: m.group(1) for path in sorted(TEMPLATES.glob("*.html"))
              for m in TITLE.finditer(path.read_text(encoding="utf-8"))}
    assert len(titles) > 20  # the pattern finds the pages' titles
    bad = {name: title[:60] for name, title in titles.items() if "<" in title or "\n" in title.strip()}
    assert bad == {}


def test_each_template_defines_its_blocks_once() -> None:
    for path in sorted(TEMPLATES.glob("*.html")):
        names = re.findall(r"{%\s*block (\w+)\s*%}", path.read_text(encoding="utf-8"))
        assert len(names) == len(set(names)), path.name
