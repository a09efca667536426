"""Every page fits a phone (390 px) and a laptop (1366 px): nothing scrolls sideways, a
board card's deadline is never cut off, on the laptop all five columns are on screen, and
on the phone a review (or an order's goods) in a list takes the screen's width."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Live
from tests.e2e.test_case_flow import log_in

PAGES = (
    "/",
    "/cases",
    "/cases?view=list&scope=all",
    "/cases/{case_id}",
    "/shop/reviews",
    "/shop/orders",
    "/shop/products",
    "/shop/buyers",
    "/shop/buyers/{buyer_id}",
    "/notifications/",
    "/reports/",
    "/reports/access-log",
    "/reports/shops",
    "/shop/segments",
    "/shop/campaigns",
    "/shop/campaigns/new",
    "/account",
)
MEASURE = """() => ({
  sideways: document.documentElement.scrollWidth - window.innerWidth,
  cut: [...document.querySelectorAll('.board-column .js-countdown')].filter(e => {
    const r = e.getBoundingClientRect(), c = e.closest('.case-card').getBoundingClientRect();
    return r.right > c.right + 1 || r.left < c.left - 1;
  }).length,
  squeezed: [...document.querySelectorAll('table .excerpt, td.stack-wide')].filter(
    e => e.textContent.trim() && e.getBoundingClientRect().width < window.innerWidth * 0.8
  ).length,
  excerpts: document.querySelectorAll('table .excerpt').length,
  columns: [...document.querySelectorAll('.board-column')].map(c => {
    const r = c.getBoundingClientRect(); return [r.left, r.right];
  }),
})"""


@pytest.mark.parametrize("width", [390, 1366])
def test_pages_fit_the_screen(live: Live, browser, width: int) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
    page = context.new_page()
    log_in(page, live, "boss")
    problems = []
    for path in PAGES:
        page.goto(live.url + path.format(case_id=live.case_id, buyer_id=live.buyer_id))
        found = page.evaluate(MEASURE)
        if found["sideways"] > 0:
            problems.append(f"{path} scrolls {found['sideways']} px sideways at {width} px")
        if found["cut"]:
            problems.append(f"{path}: {found['cut']} deadlines cut off at {width} px")
        if width < 576 and found["squeezed"]:
            problems.append(f"{path}: {found['squeezed']} list cells squeezed at {width} px")
        if path.startswith("/cases?view=list") and not found["excerpts"]:
            problems.append(f"{path}: no review in the list to measure")
        if width >= 1366 and found["columns"]:
            off = [c for c in found["columns"] if c[1] > width or c[0] < 0]
            if len(found["columns"]) != 5 or off:
                problems.append(f"{path}: columns off screen at {width} px: {found['columns']}")
    context.close()
    assert problems == []
