"""排班表 in a browser: a supervisor clicks an agent's day, makes it a day off, and takes it
back with 恢复按班次 — each form sent as Chromium sends it (a second, empty field of the
same name once made that button clear nothing)."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from tests.e2e.conftest import Live, signed_in
from tracker.clock import utcnow
from tracker.domain.working_hours import day_label


def _roster_says_day_off(page, live: Live, day: date) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live.url}/reports/roster")
    row = page.locator("#roster tbody tr", has_text=day_label(day))
    assert "休息 调" in " ".join(row.inner_text().split())


def _take_back(page, live: Live, day: date) -> None:  # type: ignore[no-untyped-def]
    """恢复按班次 for the agent's ``day``, on their 班次 page."""
    page.goto(f"{live.url}/reports/agents/{live.agent_id}/shift")
    page.locator("#shift-day-list li", has_text=day_label(day)).get_by_role(
        "button", name="恢复按班次"
    ).click()
    page.locator(".alert-success").wait_for()


def test_a_supervisor_gives_an_agent_a_day_off_from_the_roster_and_takes_it_back(
    live: Live, browser
) -> None:  # type: ignore[no-untyped-def]
    with signed_in(browser, live, "boss") as page:
        day = utcnow().astimezone(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=3)
        page.goto(f"{live.url}/reports/agents")
        page.click("#roster-link")
        cell = page.locator(f'#roster a[href*="/agents/{live.agent_id}/shift?day={day}"]')
        cell.click()
        assert (
            page.locator("#day-day").input_value() == day.isoformat()
        )  # the day it was opened for
        page.check("#day-kind-1")  # 休息
        page.click("#day-submit")
        page.locator(".alert-success").wait_for()
        assert "调班：休息" in page.locator(".alert-success").inner_text()
        listed = page.locator("#shift-day-list li", has_text=day_label(day))
        assert "休息" in listed.inner_text()

        _roster_says_day_off(page, live, day)
        _take_back(page, live, day)
        assert "恢复按班次" in page.locator(".alert-success").inner_text()
        assert page.locator("#shift-day-list li", has_text=day_label(day)).count() == 0
        page.goto(f"{live.url}/reports/roster")
        row = page.locator("#roster tbody tr", has_text=day_label(day))
        assert "调" not in row.inner_text()


def test_an_agent_asks_for_a_day_off_and_the_supervisor_approves_it(live: Live, browser) -> None:  # type: ignore[no-untyped-def]
    day = utcnow().astimezone(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=4)
    with signed_in(browser, live, "agent") as page:
        page.goto(f"{live.url}/account")
        page.click("#shift-requests-link")
        page.fill("#day", day.isoformat())
        # only the fields the choice uses show: periods for 上班, the colleague for 换班.
        # expect() waits: the link's page may be filled before its script has run
        expect(page.locator("#periods")).to_be_hidden()
        expect(page.locator("#swap_with")).to_be_hidden()
        page.check("#kind-2")
        expect(page.locator("#swap_with")).to_be_visible()
        expect(page.locator("#periods")).to_be_hidden()
        page.check("#kind-1")
        expect(page.locator("#periods")).to_be_visible()
        expect(page.locator("#swap_with")).to_be_hidden()
        page.check("#kind-0")  # 休息
        page.fill("#note", "搬家")
        page.click("#submit")
        page.locator(".alert-success").wait_for()
        mine = " ".join(page.locator("#my-requests").inner_text().split())
        assert f"{day_label(day)} 休息 待主管批准" in mine

    with signed_in(browser, live, "boss") as page:
        page.goto(f"{live.url}/reports/roster")
        page.click("#shift-requests-link")  # with its badge: one waits
        waiting = page.locator("#to-decide .shift-request", has_text=day_label(day))
        assert "说明：搬家" in waiting.inner_text()
        waiting.locator("input[name=answer]").fill("好的，注意安全")
        waiting.get_by_role("button", name="批准", exact=True).click()
        page.locator(".alert-success").wait_for()
        _roster_says_day_off(page, live, day)
        # the day is the supervisor's 调班 now: taken back like any other, from the 班次 page
        _take_back(page, live, day)


def test_a_supervisor_sets_a_two_week_rotation_and_the_roster_takes_turns(
    live: Live, browser
) -> None:  # type: ignore[no-untyped-def]
    """The 班次 form shows a second week (and 本周是, with as many weeks as the turn has)
    only once 两周轮换 is chosen; the roster then alternates the agent's hours by week."""
    with signed_in(browser, live, "boss") as page:
        page.goto(f"{live.url}/reports/agents/{live.agent_id}/shift")
        expect(page.locator("#periods_2")).to_be_hidden()
        expect(page.locator("#this_week")).to_be_hidden()
        page.check("#weeks-1")  # 两周轮换
        expect(page.locator("#periods_2")).to_be_visible()
        expect(page.locator("#periods_3")).to_be_hidden()
        expect(page.locator("#this_week-1")).to_be_visible()
        expect(page.locator("#this_week-2")).to_be_hidden()
        page.fill("#periods", "09:00-15:00")
        page.fill("#periods_2", "15:00-22:00")
        page.check("#this_week-1")  # this week is the late one
        page.click("#shift-form #submit")
        page.locator(".alert-success").wait_for()
        assert "两周轮换（本周第2周）" in page.locator(".alert-success").inner_text()

        today = utcnow().astimezone(ZoneInfo("Asia/Shanghai")).date()
        page.goto(f"{live.url}/reports/roster")
        for day, hours in ((today, "15:00–22:00"), (today + timedelta(weeks=1), "09:00–15:00")):
            cell = page.locator(f'#roster a[href*="/agents/{live.agent_id}/shift?day={day}"]')
            assert cell.inner_text().strip() == hours
        # back to the shop's hours, as the other tests expect
        page.goto(f"{live.url}/reports/agents/{live.agent_id}/shift")
        page.check("#weeks-0")
        page.fill("#periods", "")
        page.click("#shift-form #submit")
        page.locator(".alert-success").wait_for()
