"""Spider: every page reachable from the nav, as several roles, renders cleanly in Chinese.

Each role logs in through the HTML form and follows same-origin GET links breadth-first from the nav to depth 3
(downloads, XLSX exports and logout skipped; at most a few pages per URL pattern, so 100 rows of one list do not
become 100 visits). Every nav link opens for the role; every linked page exists (no 404) and answers below 500;
every HTML page carries a Chinese <title> and shows, outside <code>, no traceback, no template or Python artefact
("None", "{{", "{%", dict or list reprs) and no raw variable name (monthly_amount; usernames are identifiers and
allowed). The data: the showcase process with an open case, four 低保 cases, a cemetery under inspection, a fund
project in the library, a registered social organization.
"""

from __future__ import annotations

import re
from collections import deque
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

from engine.models import User
from tests.cemetery_helpers import install_cemetery, make_cemetery
from tests.conftest import WEB_USERS, api_token, browser_login, deploy_dir
from tests.integration.projects_helpers import deploy as deploy_projects
from tests.integration.projects_helpers import to_reserve
from tests.social_org_helpers import SO_USERS, deploy_social_org, make_org, seed_so_users
from workflows.cemetery import inspection as insp
from workflows.dibao import demo as dibao_demo
from workflows.dibao import services as dibao_services
from workflows.dibao.registry import seed_plan_standards

ROLES = ["admin", "city_mgr", "dp_county", "th_clerk", "wl_clerk", "dp_inspector", "so_dp"]
MAX_DEPTH = 3
PER_PATTERN = 3  # pages visited per URL shape (digits and UUIDs collapsed)
SKIP = re.compile(r"logout|xlsx|export|download|/attachments/|/photos/|/files?/|\.(pdf|csv|png|jpg|svg)$", re.I)
CJK = re.compile(r"[\u4e00-\u9fff]")
UUIDISH = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\d+")
# Artefacts of a template or of Python leaking into what users read.
ARTEFACTS = re.compile(r"(?<![\w-])(None|True|False|nan|undefined)(?![\w-])|\{\{|\{%|\{'|\[\]|\[\{|"
                       r"Traceback|Decimal\(|datetime\.|<built-in|object at 0x")
RAW_NAME = re.compile(r"(?<![\w./@-])[a-z]+(?:_[a-z]+)+(?![\w.-])")  # a variable name such as monthly_amount
USERNAMES = {u[0] for u in WEB_USERS + SO_USERS} | {"dp_inspector", "th_village", "dp_pm"}  # the seeds' actors


class _Page(HTMLParser):
    """Visible text, <title> and link targets of one HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.text: list[str] = []
        self.title = ""
        self._stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href and not dict(attrs).get("download"):
                self.links.append(href)
        if tag not in ("br", "img", "input", "meta", "link", "hr", "wbr", "source", "col", "area", "base"):
            self._stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._stack:
            while self._stack and self._stack.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if "title" in self._stack:
            self.title += data
        elif not {"script", "style", "textarea", "code", "pre", "svg"} & set(self._stack) and data.strip():
            self.text.append(data.strip())


async def _seed(client: Any, engine: Any, password_hash: str) -> None:
    await seed_so_users(password_hash)
    await User.create(username="dp_inspector", display_name="东坡检查员", org_unit_id="511402", roles=["inspector"],
                      password_hash=password_hash)
    r = await client.post("/api/v1/instances", json={"process_key": "showcase", "business_key": "SP-1"},
                          headers=await api_token(client, "th_clerk"))
    assert r.status_code == 201, r.text
    await seed_plan_standards()
    await dibao_services.install(engine)
    await deploy_dir(engine, Path("bpmn"), "dibao_approval.bpmn")
    await dibao_demo.seed(engine, engine.clock)  # four 低保 cases in 通惠街道, one waiting for 受理, one closed
    await install_cemetery(engine)
    cemetery = await make_cemetery()
    campaign = await insp.open_campaign(2026, actor="city_mgr", now=engine.clock.now())
    await insp.start_inspection(engine, cemetery, campaign, actor="city_mgr")
    await deploy_projects(engine)
    await to_reserve(engine)
    await deploy_social_org(engine)
    await make_org("511402")


def _shape(path: str) -> str:
    return UUIDISH.sub("N", path)


async def _crawl(client: Any, username: str) -> tuple[int, list[str]]:
    """Pages visited and problems found (one line per problem) for one user."""
    client.cookies.clear()
    await browser_login(client, username)
    seen: set[str] = set()
    shapes: dict[str, int] = {}
    queue: deque[tuple[str, int]] = deque([("/inbox", 0)])
    problems: list[str] = []
    inbox = await client.get("/inbox")
    header = re.search(r"<header.*?</header>", inbox.text, re.S)
    assert header, "no page header"
    for href in re.findall(r'<a [^>]*href="(/[^"]*)"', header.group(0)):  # the nav offers only what the role may open
        if (status := (await client.get(href, follow_redirects=True)).status_code) != 200:
            problems.append(f"nav link {href}: HTTP {status}")
    while queue:
        url, depth = queue.popleft()
        parts = urlsplit(url)
        if parts.netloc not in ("", "testserver") or SKIP.search(parts.path) or SKIP.search(parts.query):
            continue
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        shape = _shape(parts.path)
        if target in seen or shapes.get(shape, 0) >= PER_PATTERN:
            continue
        seen.add(target)
        shapes[shape] = shapes.get(shape, 0) + 1
        r = await client.get(target)
        if r.status_code >= 500 or r.status_code == 404:  # a crash, or a link to nothing
            problems.append(f"{target}: HTTP {r.status_code}")
            continue
        if "text/html" not in r.headers.get("content-type", ""):
            continue
        parsed = _Page()
        parsed.feed(r.text)
        if "Traceback" in r.text:
            problems.append(f"{target}: traceback in the page")
        for text in parsed.text:
            if m := ARTEFACTS.search(text):
                problems.append(f"{target}: artefact {m.group(0)!r} in {text[:60]!r}")
            if m := next((m for m in RAW_NAME.finditer(text) if m.group(0) not in USERNAMES), None):
                problems.append(f"{target}: untranslated name {m.group(0)!r} in {text[:60]!r}")
        if not CJK.search(parsed.title):
            problems.append(f"{target}: title without Chinese {parsed.title.strip()!r}")
        if depth < MAX_DEPTH and r.status_code == 200:
            for href in parsed.links:
                if href.startswith(("mailto:", "javascript:", "tel:")):
                    continue
                queue.append((urldefrag(urljoin("http://testserver" + target, href))[0], depth + 1))
    return len(seen), problems


async def test_every_nav_reachable_page_renders_cleanly_for_each_role(client: Any, engine: Any,
                                                                      password_hash: str) -> None:
    await _seed(client, engine, password_hash)
    visited: dict[str, int] = {}
    problems: list[str] = []
    for username in ROLES:
        visited[username], found = await _crawl(client, username)
        problems += [f"{username} {p}" for p in found]
    assert problems == []
    # the spider really walked the app: every role reaches well beyond its inbox
    assert all(n >= 15 for n in visited.values()), visited
    assert visited["admin"] > visited["th_clerk"]
