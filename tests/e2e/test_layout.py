"""Every page fits a phone (390 px) and a laptop (1366 px): nothing scrolls sideways (the page,
or a table inside its card; one that scrolls by design keeps its first column in view), no
cell is set two characters a line, a board card's deadline is never cut off, on the laptop
all five columns are on screen, and on the phone a review (or an order's goods) in a list
takes the screen's width."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Live, log_in

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
    "/shop/campaigns/{campaign_id}",
    "/reports/agents",
    "/reports/roster",
    "/cases/confirm",
    "/cases/confirm/second-look",
    "/scripts",
    "/account",
    "/account/away",
    "/account/roster",
    "/account/shift-requests/",
    "/reports/agents/{agent_id}/shift",
)
ADMIN_PAGES = (
    "/admin/shops",
    "/admin/shops/{shop_id}/contact",
    "/admin/users",
    "/admin/users/{agent_id}",
    "/admin/shops/{shop_id}",
    "/admin/shops/{shop_id}/policy?past=1",
    "/admin/sources",
)
MEASURE = r"""() => ({
  sideways: document.documentElement.scrollWidth - window.innerWidth,
  cut: [...document.querySelectorAll('.board-column .js-countdown')].filter(e => {
    const r = e.getBoundingClientRect(), c = e.closest('.case-card').getBoundingClientRect();
    return r.right > c.right + 1 || r.left < c.left - 1;
  }).length,
  squeezed: [...document.querySelectorAll('table .excerpt, td.stack-wide')].filter(
    e => e.textContent.trim() && e.getBoundingClientRect().width < window.innerWidth * 0.8
  ).length,
  excerpts: document.querySelectorAll('table .excerpt').length,
  // a table that scrolls inside its card hides its last columns (the report's breakdown
  // and the charts' data tables do so by design: data-scrolls)
  inner: [...document.querySelectorAll('.table-responsive:not([data-scrolls])')].filter(
    e => e.scrollWidth > e.clientWidth + 4
  ).map(e => (e.querySelector('table') || e).id || 'a table'),
  // a cell of four characters or more set two or fewer a line
  narrow: [...document.querySelectorAll('td')].filter(e => {
    if (!e.offsetParent || e.innerText.replace(/\s/g, '').length < 4) return false;
    const s = getComputedStyle(e);
    const size = parseFloat(s.fontSize), line = parseFloat(s.lineHeight) || 1.5 * size;
    const width = e.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
    const height = e.clientHeight - parseFloat(s.paddingTop) - parseFloat(s.paddingBottom);
    return width < 2.6 * size && height > 1.8 * line;
  }).map(e => e.innerText.trim().slice(0, 10)),
  // a table that does scroll keeps its first column (whose row it is) in view
  loose: [...document.querySelectorAll('.table-responsive[data-scrolls]')].filter(e => {
    if (e.scrollWidth <= e.clientWidth + 4) return false;
    e.scrollLeft = e.scrollWidth;
    const left = e.getBoundingClientRect().left;
    const off = [...e.querySelectorAll('tr > :first-child')].some(
      c => Math.abs(c.getBoundingClientRect().left - left) > 1);
    e.scrollLeft = 0;
    return off;
  }).map(e => (e.querySelector('table') || e).id || 'a table'),
  columns: [...document.querySelectorAll('.board-column')].map(c => {
    const r = c.getBoundingClientRect(); return [r.left, r.right];
  }),
})"""


@pytest.mark.parametrize("width", [390, 1366])
def test_pages_fit_the_screen(live: Live, browser, width: int) -> None:  # type: ignore[no-untyped-def]
    problems = []
    for user, paths in (("boss", PAGES), ("admin", ADMIN_PAGES)):
        context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
        page = context.new_page()
        log_in(page, live, user)
        for path in paths:
            page.goto(
                live.url
                + path.format(
                    case_id=live.case_id,
                    buyer_id=live.buyer_id,
                    shop_id=live.shop_id,
                    campaign_id=live.campaign_id,
                    agent_id=live.agent_id,
                )
            )
            problems += _problems(path, width, page.evaluate(MEASURE))
        context.close()
    assert problems == [], "\n".join(problems)


def _problems(path: str, width: int, found: dict) -> list[str]:
    problems = []
    if found["sideways"] > 0:
        problems.append(f"{path} scrolls {found['sideways']} px sideways at {width} px")
    if found["inner"]:
        problems.append(f"{path}: {found['inner']} scroll inside their card at {width} px")
    if found["loose"]:
        problems.append(f"{path}: {found['loose']} lose their first column scrolled at {width} px")
    if found["narrow"]:
        problems.append(f"{path}: {found['narrow']} set two characters a line at {width} px")
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
    return problems
