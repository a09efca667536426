"""An agent works a case from first call to recovery; a supervisor sees it closed."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import PAYLOAD, PHONE, Live, artifact, log_in


def test_agent_recovers_a_case_and_supervisor_sees_it(live: Live, browser) -> None:  # type: ignore[no-untyped-def]
    """After each click that sends a form, expect() waits for the page it leads to: a plain
    read could still see the page the click left."""
    errors: list[str] = []
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(  # the CSP forbids inline code: any left in a page shows up here
        "console",
        lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    log_in(page, live, "agent")

    page.goto(f"{live.url}/cases")
    card = page.locator(f'[data-case-id="{live.case_id}"]')
    assert "橙子烂了好几个" in card.inner_text()
    page.screenshot(path=str(artifact("phone-board.png")), full_page=True)
    card.click()
    page.wait_for_url(f"{live.url}/cases/{live.case_id}")

    page.click("#claim")
    expect(page.locator("#case-owner")).to_have_text("客服小林")
    page.click("#numbers button[title^='每次查看']")  # audited
    expect(page.locator("#phone")).to_have_attribute("href", "tel:13812345678")

    page.select_option("#attempt-channel", "phone")
    page.select_option("#attempt-outcome", "no_answer")
    page.fill("#attempt-notes", "响铃无人接")
    page.click("#attempt-submit")
    expect(page.get_by_text("已记录本次联系")).to_be_visible()
    expect(page.locator("#next-try")).to_be_visible()  # another time, another channel

    page.select_option("#attempt-channel", "wangwang")
    page.select_option("#attempt-outcome", "agreed")
    page.fill("#attempt-notes", "买家同意修改评价，补发一箱")
    assert "新品冰糖橙" in page.locator("#suggestions").inner_text()
    page.get_by_label("新品冰糖橙").check()  # mentioned on the call
    page.click("#attempt-submit")
    expect(page.locator("#attempts li")).to_have_count(2)
    expect(page.locator("#suggestion-log")).to_contain_text("新品冰糖橙")
    expect(page.locator("#case-status")).to_have_text("等待买家")

    page.select_option("#remedy-kind", "coupon")
    page.fill("#remedy-amount", "10")
    page.fill("#remedy-cost", "10")
    page.click("#remedy-submit")
    expect(page.locator("#remedies")).to_contain_text("优惠券")

    # the buyer promised: the case waits for the platform, and no one can type the recovery
    assert "承诺追评" in page.locator("#promise").inner_text()  # Tmall: no change, a 追评
    offered = page.locator("#status-outcome option").all_inner_texts()
    assert "已改为好评" not in offered and "已追评转好" not in offered
    live.platform_shows_follow_up("收到补发的了，很甜，谢谢客服")  # Tmall: a happy 追评
    page.reload()
    assert page.locator("#case-status").inner_text() == "已挽回"
    assert "已追评转好" in page.locator("#outcome").inner_text()
    page.screenshot(path=str(artifact("phone-case.png")), full_page=True)
    assert errors == []
    context.close()

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    log_in(page, live, "boss")
    page.goto(f"{live.url}/cases?scope=all")
    recovered = page.locator('section[data-status="recovered"]')
    assert recovered.locator(f'[data-case-id="{live.case_id}"]').count() == 1
    page.goto(f"{live.url}/cases/{live.case_id}")
    history = page.locator("#history").inner_text()
    assert "等待买家 → 已挽回" in history and "客服小林" in history
    page.goto(f"{live.url}/reports/")
    rows = page.locator("#breakdown tbody tr")
    assert "客服小林" in rows.first.inner_text()
    assert "100.0%" in page.locator("#headline").inner_text()  # 1 recovered of 1 closed
    chart = page.locator("#chart-cases img")
    chart.scroll_into_view_if_needed()
    # lazy-loaded: decode() waits for the fetch and rejects if the SVG is broken
    assert chart.evaluate("img => img.decode().then(() => img.naturalWidth > 0)")
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(artifact("phone-reports.png")), full_page=True)
    context.close()


def test_user_text_cannot_run_script_anywhere_in_the_browser(live: Live, browser) -> None:  # type: ignore[no-untyped-def]
    """Review text, nick and product title came in through a file import; notes and
    preferences are typed by staff. Every page that shows them shows them as text."""
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(page, live, "agent")
    page.goto(f"{live.url}/cases?scope=all&view=list")
    assert PAYLOAD in page.locator("main").inner_text()
    page.goto(f"{live.url}/cases/{live.imported_case_id}")
    assert "<script>alert(2)</script>" in page.locator("main").inner_text()
    page.click("#claim")
    page.select_option("#attempt-outcome", "no_answer")
    page.fill("#attempt-notes", PAYLOAD)
    page.click("#attempt-submit")
    page.fill("#prefs-preferences", PAYLOAD)
    page.click("#prefs-submit")
    assert PAYLOAD in page.locator("#attempts").inner_text()
    assert PAYLOAD in page.locator("#prefs-preferences").input_value()
    for path in ("/shop/reviews", "/shop/buyers", "/shop/products", "/", "/notifications/"):
        page.goto(f"{live.url}{path}")
    context.close()
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(page, live, "boss")
    page.goto(f"{live.url}/reports/?by=product")
    assert PAYLOAD in page.locator("#breakdown").inner_text()
    page.goto(f"{live.url}/reports/charts/products.svg")  # opened directly, not as an image
    assert dialogs == []
    context.close()


def test_copying_without_a_clipboard_selects_the_words_in_one_box(live: Live, browser) -> None:  # type: ignore[no-untyped-def]
    """Served over plain http a page has no clipboard: the copy buttons put the text in a
    read-only box beside them, selected for Ctrl+C, once however often they are pressed."""
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    page.add_init_script("Object.defineProperty(navigator, 'clipboard', {value: undefined})")
    log_in(page, live, "agent")
    page.goto(f"{live.url}/cases/{live.case_id}")
    button = page.locator("[data-copy-target='#script-1']")
    button.click()
    button.click()
    expect(button).to_have_text("请按 Ctrl+C 复制")
    boxes = page.locator("textarea.copy-fallback")
    expect(boxes).to_have_count(1)
    script = page.locator("#script-1").text_content().strip()
    assert boxes.input_value() == script and script
    selected = page.evaluate(
        "(() => { const a = document.activeElement;"
        " return a.value.substring(a.selectionStart, a.selectionEnd) })()"
    )
    assert selected == script
    context.close()
