import pytest
from tests.browser.conftest import login

@pytest.mark.browser
def test_scratch(page):
    login(page, "th_clerk")
    page.goto("/start")
    print(page.content()[-1500:])
    page.goto("/start/showcase")
    print(page.content()[-2500:])
    page.get_by_label("业务编号").fill("SCR-1")
    page.get_by_role("button", name="发起").click()
    page.wait_for_load_state()
    print(page.url)
    print(page.content()[:6000])
    page.goto("/inbox")
    page.get_by_role("link", name="受理 · SCR-1").click()
    print(page.content())
    print(page.errors)
