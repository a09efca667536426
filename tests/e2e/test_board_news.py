"""A board left open says when a case was opened after it was drawn, and refreshes on a
click to show it."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import Live, signed_in


def test_an_open_board_announces_a_new_case(live: Live, browser) -> None:  # type: ignore[no-untyped-def]
    with signed_in(browser, live, "agent") as page:
        page.goto(f"{live.url}/cases")
        news = page.locator("#board-news")
        assert news.is_hidden()

        page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")  # back to the tab
        page.wait_for_load_state("networkidle")
        assert news.is_hidden()  # nothing new yet

        case_id = live.opens_a_case("新来的买家")
        assert page.locator(f'[data-case-id="{case_id}"]').count() == 0
        page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
        news.wait_for(state="visible")
        assert news.inner_text().startswith("打开看板后新开了 1 个案件")
        assert page.title().startswith("(1) 案件")  # seen from another tab too
        page.click("#board-news-refresh")
        page.locator(f'[data-case-id="{case_id}"]').wait_for()
        assert page.locator("#board-news").is_hidden() and page.title().startswith("案件")

        page.goto(f"{live.url}/")  # the home page says so as well
        live.opens_a_case("又来的买家")
        page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
        page.locator("#board-news").wait_for(state="visible")
        assert page.locator("#board-news").inner_text().startswith("打开首页后新开了 1 个案件")
        page.click("#board-news-refresh")  # to the board, where it is
        page.wait_for_url(f"{live.url}/cases")


def test_any_open_page_shows_a_new_notice_on_the_bell(live: Live, browser) -> None:  # type: ignore[no-untyped-def]
    """An agent on a case page (no board news there) hears of a case given to them: the
    bell's count follows within the minute, and at once when the tab is shown again."""
    with signed_in(browser, live, "agent") as page:
        page.goto(f"{live.url}/cases/{live.imported_case_id}")
        bell = page.locator("#bell-phone [data-unread]")
        before = int(bell.inner_text()) if bell.is_visible() else 0

        with signed_in(browser, live, "boss") as lead:
            case_id = live.opens_a_case("找客服小林的买家")
            lead.goto(f"{live.url}/cases/{case_id}")
            lead.select_option("#assign-owner_id", label="客服小林")
            lead.click("form[action$='/assign'] button[type=submit]")
            # stored before the agent's tab asks: its one question on being shown must see it
            expect(lead.locator(".alert-success")).to_contain_text("已更新负责人")

        page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
        expect(bell).to_have_text(str(before + 1))  # the page's CSP allows no eval: a locator
        assert bell.is_visible()
        assert (
            page.locator("#bell-phone").get_attribute("aria-label")
            == f"通知（{before + 1} 条未读）"
        )
