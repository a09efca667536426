"""Appeals, buyer flags, and a supervisor's recovery with its reason, through the pages."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.conftest import login, other_browser, post_form
from tests.web.conftest import World
from tracker.models.enums import AppealState, CaseOutcome, CaseStatus, Role


def test_an_agent_appeals_and_a_supervisor_records_the_answer(
    client: FlaskClient, session: Session, world: World
) -> None:
    url = f"/cases/{world.case.id}"
    login(client, world.users["agent"])
    page = client.get(url).get_data(as_text=True)
    assert 'id="appeal"' in page and "登记申诉" in page
    refused = post_form(
        client,
        f"{url}/appeal",
        {
            "appeal-version": str(world.case.version),
            "appeal-reason": "extortion",
            "appeal-note": "",
        },
        form_url=url,
    )
    assert refused.status_code == 400 and "请写明违规之处" in refused.get_data(as_text=True)
    done = post_form(
        client,
        f"{url}/appeal",
        {
            "appeal-version": str(world.case.version),
            "appeal-reason": "extortion",
            "appeal-note": "要求返现才删差评 <b>截图</b>",
        },
        form_url=url,
    )
    assert done.status_code == 302
    session.refresh(world.case)
    assert world.case.appeal_state is AppealState.SUBMITTED
    page = client.get(url).get_data(as_text=True)
    assert "已申诉，等待平台处理" in page and "&lt;b&gt;截图" in page
    assert "登记平台结果" not in page  # the platform's answer is a supervisor's to record
    client = other_browser(client)
    login(client, world.users["supervisor"])
    post_form(
        client,
        f"{url}/appeal/decision",
        {"decision-version": str(world.case.version), "decision-decision": "rejected"},
        form_url=url,
    )
    session.refresh(world.case)
    assert world.case.appeal_state is AppealState.REJECTED


def test_a_closed_case_without_an_appeal_says_so_instead_of_an_empty_card(
    client: FlaskClient, session: Session, world: World
) -> None:
    world.case.status, world.case.outcome = CaseStatus.UNRECOVERED, CaseOutcome.UNREACHABLE
    world.case.closed_at = world.case.opened_at
    session.commit()
    login(client, world.users["agent"])
    page = client.get(f"/cases/{world.case.id}").get_data(as_text=True)
    card = page.split('id="appeal"', 1)[1].split("</div></div>", 1)[0]
    assert "没有申诉。" in card and "登记申诉" not in card


def test_a_colleagues_open_case_says_what_its_explanation_and_appeal_are(
    client: FlaskClient, session: Session, world: World, make_user
) -> None:  # type: ignore[no-untyped-def]
    """An agent reading a colleague's case has neither form: each card says where it stands,
    not a header over nothing."""
    world.case.owner_id = make_user(Role.AGENT, shops=[world.shop]).id
    session.commit()
    login(client, world.users["agent"])
    page = client.get(f"/cases/{world.case.id}").get_data(as_text=True)
    explanation = page.split("商家解释</div>", 1)[1].split("</div></div>", 1)[0]
    assert "还没有发布解释。" in explanation and "<form" not in explanation
    appeal = page.split('id="appeal"', 1)[1].split("</div></div>", 1)[0]
    assert "没有申诉。" in appeal and "<form" not in appeal


def test_a_flagged_buyer_is_shown_on_the_case_and_the_buyer_page(
    client: FlaskClient, session: Session, world: World
) -> None:
    url = f"/cases/{world.case.id}"
    login(client, world.users["agent"])
    assert 'id="buyer-caution"' not in client.get(url).get_data(as_text=True)
    post_form(client, f"{url}/buyer-flag", {"flag-reason": "以差评要挟索要补偿"}, form_url=url)
    assert "以差评要挟索要补偿" in client.get(url).get_data(as_text=True)
    buyer_page = client.get(f"/shop/buyers/{world.case.buyer_id}").get_data(as_text=True)
    assert 'id="buyer-caution"' in buyer_page and "以差评要挟索要补偿" in buyer_page


def test_only_a_supervisor_may_close_as_recovered_without_the_platform_and_says_why(
    client: FlaskClient, session: Session, world: World
) -> None:
    url = f"/cases/{world.case.id}"
    login(client, world.users["agent"])
    page = client.get(url).get_data(as_text=True)
    assert CaseOutcome.MANUAL_RECOVERED.value not in page
    assert 'value="review_revised"' not in page and 'value="review_deleted"' not in page
    client = other_browser(client)
    login(client, world.users["supervisor"])
    page = client.get(url).get_data(as_text=True)
    assert 'value="manual_recovered"' in page and "依据" in page
    data = {
        "status-version": str(world.case.version),
        "status-status": "recovered",
        "status-outcome": "manual_recovered",
        "status-note": "",
    }
    refused = post_form(client, f"{url}/status", data, form_url=url)
    assert refused.status_code == 400 and "请写明认定挽回的依据" in refused.get_data(as_text=True)
    post_form(client, f"{url}/status", data | {"status-note": "买家发来改评截图"}, form_url=url)
    session.refresh(world.case)
    assert world.case.status is CaseStatus.RECOVERED
    assert "主管认定挽回（平台未确认）（买家发来改评截图）" in client.get(url).get_data(
        as_text=True
    )
