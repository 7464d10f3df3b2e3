import re

import pytest

from tests.browser.conftest import login


@pytest.mark.browser
def test_scratch(browser, live_server):
    ctx = browser.new_context(base_url=live_server, viewport={"width": 1366, "height": 900}, device_scale_factor=2)
    page = ctx.new_page()
    bad = []
    page.on("response", lambda r: bad.append(r.url) if r.status >= 400 else None)
    login(page, "th_clerk")
    page.goto("/instances")
    page.get_by_role("link", name="BR-FLOW-001").click()
    page.wait_for_url(re.compile(r"/instances/"))
    box = page.locator("svg.bpmn-diagram").bounding_box()
    page.screenshot(path="/tmp/crop1.png", clip={"x": box["x"], "y": box["y"], "width": box["width"]/2, "height": box["height"]})
    page.screenshot(path="/tmp/crop2.png", clip={"x": box["x"]+box["width"]/2, "y": box["y"], "width": box["width"]/2, "height": box["height"]})
    page.goto("/inbox?due=overdue")
    page.goto("/start")
    print("BAD", bad)
    fs = page.evaluate("getComputedStyle(document.querySelector('select')).fontSize")
    print("select font", fs)
