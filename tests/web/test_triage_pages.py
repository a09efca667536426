"""待确认, 误报 and the sentiment-model page, as staff use them."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.conftest import csrf_token, login, post_form
from tests.factories import add_sale
from tests.web.conftest import World
from tracker import runtime
from tracker.clock import utcnow
from tracker.models import Case, Review, SentimentCorrection
from tracker.models.enums import CaseOutcome, CaseStatus, Rating


def _waiting(session: Session, world: World, text: str = "还行吧，凑合", key: str = "w1") -> Review:
    review = add_sale(
        session, world.shop, nick=f"n{key}", key=key, text=text, rating=Rating.GOOD, at=utcnow()
    )
    review.sentiment_score, review.sentiment_model = 0.2, "test"  # the bundled model: unsure
    review.awaiting_confirmation_at = utcnow()
    session.commit()
    return review


def test_the_queue_shows_unsure_reviews_and_one_click_decides(
    client: FlaskClient, session: Session, world: World
) -> None:
    first, second = _waiting(session, world), _waiting(session, world, "还可以吧", "w2")
    login(client, world.users["agent"])
    board = client.get("/cases").get_data(as_text=True)
    assert "待确认" in board and ">2</span>" in board
    page = client.get("/cases/confirm").get_data(as_text=True)
    assert "还行吧，凑合" in page and "偏负面" in page and 'title="情感分 0.20' in page
    answer = post_form(
        client, f"/cases/confirm/{first.id}", {"decision": "case"}, form_url="/cases/confirm"
    )
    assert answer.status_code == 302
    case = session.scalar(sa.select(Case).where(Case.review_id == first.id))
    assert case is not None and case.is_hidden_negative
    post_form(
        client, f"/cases/confirm/{second.id}", {"decision": "dismiss"}, form_url="/cases/confirm"
    )
    assert session.scalar(sa.select(Case).where(Case.review_id == second.id)) is None
    assert session.get(SentimentCorrection, second.id).is_positive
    again = post_form(
        client, f"/cases/confirm/{second.id}", {"decision": "case"}, form_url="/cases/confirm"
    )
    assert "已经有人处理过了" in client.get(again.location).get_data(as_text=True)
    assert "没有待确认的评价" in client.get("/cases/confirm").get_data(as_text=True)


def test_copied_words_show_once_and_one_click_decides_every_copy(
    client: FlaskClient, session: Session, world: World
) -> None:
    words = "还行吧<b>凑合</b>"
    copies = [_waiting(session, world, words, f"c{i}") for i in range(3)]
    other = _waiting(session, world, "还可以吧", "c9")
    login(client, world.users["agent"])
    page = client.get("/cases/confirm").get_data(as_text=True)
    assert page.count("还行吧&lt;b&gt;凑合&lt;/b&gt;") == 1 and "<b>凑合" not in page
    assert "同样的文字共 3 条待确认" in page
    assert "3 条都是误报" in page and "3 条都是差评 · 开 3 个案件" in page
    assert page.count("误报 · 无需处理") == 1  # 还可以吧 alone: the single-review buttons
    answer = post_form(
        client,
        f"/cases/confirm/{copies[0].id}",
        {"decision": "dismiss", "alike": "y"},
        form_url="/cases/confirm",
    )
    assert "已将 3 条评价标为误报" in client.get(answer.location).get_data(as_text=True)
    assert all(session.get(SentimentCorrection, r.id).is_positive for r in copies)
    assert session.get(SentimentCorrection, other.id) is None
    page = client.get("/cases/confirm").get_data(as_text=True)
    assert "还可以吧" in page and "凑合" not in page


def test_the_queue_names_what_the_words_complain_of(
    client: FlaskClient, session: Session, world: World
) -> None:
    """包装问题 beside a good rating's words: a complaint at a glance; praise shows none."""
    _waiting(session, world, "不想麻烦才给的好评，外包装破损，里面东西也磕坏了")
    _waiting(session, world, "还没吃，不知道好不好吃", "w2")
    login(client, world.users["agent"])
    page = client.get("/cases/confirm").get_data(as_text=True)
    assert page.count('class="mb-2 small text-body-secondary reasons"') == 1
    named = page.split('text-body-secondary reasons">', 1)[1].split("</div>", 1)[0]
    assert "包装问题" in named and "其他" not in named
    _waiting(session, world, "外包装破损，物流太慢了", "w3")
    two = client.get("/cases/confirm").get_data(as_text=True).split("外包装破损，物流太慢了")[1]
    named = two.split('text-body-secondary reasons">', 1)[1].split("</div>", 1)[0]
    assert "提到：物流问题 包装问题" in " ".join(re.sub(r"<[^>]*>", "", named).split())


def test_the_queue_says_how_long_the_buyer_can_still_change_each_review(
    client: FlaskClient, session: Session, world: World
) -> None:
    """Most urgent first, each with the time left in the platform's window. Every review
    here is a 好评: even on Taobao, where a 中差评 may be revised, its buyer can only add a
    追评 (30 days from its posting), and one who has added theirs can change nothing."""
    new = _waiting(session, world, "刚收到，还没用，看着一般", "w1")
    old = _waiting(session, world, "用了几天，感觉一般般", "w2")
    spent = _waiting(session, world, "挺好的", "w3")
    new.first_posted_at = utcnow() - timedelta(hours=1)
    old.first_posted_at = utcnow() - timedelta(days=28, hours=1)
    spent.follow_up_text, spent.follow_up_at = "后来发现有瑕疵，挺失望的", utcnow()
    session.commit()
    login(client, world.users["agent"])
    page = client.get("/cases/confirm").get_data(as_text=True)
    assert page.index("感觉一般般") < page.index("看着一般")
    left = re.findall(r'class="ms-auto window-left countdown-(\w+)"[^>]*>([^<]+)<', page)
    assert left[0][1].startswith("跟进期 · 剩 1天2") and left[1][1].startswith("跟进期 · 剩 29天2")
    assert [state for state, _ in left] == ["near", "ok"]  # amber in its last three days
    # the tracker's 30 days, not presented as the platform's: Taobao allows a 追评 for longer
    assert "本店从评价发布起跟进 30 天（淘宝买家在交易成功后 180 天内可追评一次" in page
    after = page[page.index("已追评 · 评价不会再变") :]
    assert "后来发现有瑕疵" in after[:800]


def test_the_queue_turns_amber_when_the_board_turns_the_window_red(
    app: Flask,
    client: FlaskClient,
    session: Session,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A shop that is alerted 48 hours before a window ends sees 待确认's countdown turn
    amber then too, not three days before while the board still shows it plain."""
    monkeypatch.setitem(app.config, "TRACKER_ALERT_REVISION_LEAD_HOURS", 48)
    soon = _waiting(session, world, "用了几天，感觉一般般", "w1")
    sooner = _waiting(session, world, "刚收到，看着一般", "w2")
    soon.first_posted_at = utcnow() - timedelta(days=27, hours=12)  # 2½ days left
    sooner.first_posted_at = utcnow() - timedelta(days=28, hours=12)  # 1½ days left
    session.commit()
    login(client, world.users["agent"])
    page = client.get("/cases/confirm").get_data(as_text=True)
    left = re.findall(r'class="ms-auto window-left countdown-(\w+)"[^>]*>([^<]+)<', page)
    assert [(state, text[:10]) for state, text in left] == [
        ("near", "跟进期 · 剩 1天"),
        ("ok", "跟进期 · 剩 2天"),  # amber under the old three days
    ]


def test_a_user_text_in_the_queue_is_escaped(
    client: FlaskClient, session: Session, world: World
) -> None:
    _waiting(session, world, "<script>alert(1)</script>还行")
    login(client, world.users["agent"])
    page = client.get("/cases/confirm").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page


def test_false_alarm_is_offered_for_hidden_negatives_only(
    client: FlaskClient, session: Session, world: World
) -> None:
    login(client, world.users["agent"])
    bad_case = client.get(f"/cases/{world.case.id}").get_data(as_text=True)
    assert CaseOutcome.FALSE_ALARM.value not in bad_case  # a bad rating always needs work
    world.case.is_hidden_negative = True
    review = session.get(Review, world.case.review_id)
    review.sentiment_score, review.sentiment_model = 0.01, "test"
    session.commit()
    page = client.get(f"/cases/{world.case.id}").get_data(as_text=True)
    assert 'value="false_alarm"' in page and 'value="dismissed"' in page
    assert "明显负面" in page and 'title="情感分 0.01' in page  # the score in words
    answer = post_form(
        client,
        f"/cases/{world.case.id}/status",
        {
            "status-status": "dismissed",
            "status-outcome": "false_alarm",
            "status-version": str(world.case.version),
        },
        form_url=f"/cases/{world.case.id}",
    )
    assert answer.status_code == 302
    session.refresh(world.case)
    assert world.case.status is CaseStatus.DISMISSED
    assert session.get(SentimentCorrection, world.case.review_id).is_positive


def test_the_model_page_requests_training_and_says_what_scores_the_shop(
    client: FlaskClient, session: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    login(client, world.users["admin"])
    url = f"/admin/shops/{world.shop.id}/sentiment"
    page = client.get(url).get_data(as_text=True)
    assert "内置模型" in page and "还没有本店模型" in page and "回滚" not in page
    assert "本店好评满 1,000 条后（现有 0 条" in page  # not calibrated yet: the model's bands
    version = runtime.installed_model_version(client.application)
    for n in range(3):  # enough, once enough is three: the page says when it calibrates
        review = add_sale(
            session, world.shop, nick=f"g{n}", key=f"g{n}", text="很好", rating=Rating.GOOD,
            at=utcnow() - timedelta(days=5),
        )  # fmt: skip
        review.sentiment_score, review.sentiment_model = 0.9, version
    session.commit()
    monkeypatch.setattr("tracker.web.admin.sentiment.CALIBRATION_MIN_REVIEWS", 3)
    page = client.get(url).get_data(as_text=True)
    assert "本店已有 3 条好评由这个模型评过分，够校准了：今晚 03:30" in page
    world.shop.sentiment_calibration = {
        "model": version, "case": 0.123, "confirm": 0.456, "good_reviews": 4321,
        "at": utcnow().isoformat(),
    }  # fmt: skip
    session.commit()
    page = client.get(url).get_data(as_text=True)
    assert "按本店 4,321 条好评校准" in page and "0.123" in page and "0.456" in page
    post_form(client, f"{url}/retrain", {}, form_url=url)
    session.refresh(world.shop)
    assert world.shop.sentiment_retrain_requested_at is not None
    assert "请求训练" in client.get(url).get_data(as_text=True)
    nothing = post_form(client, f"{url}/rollback", {}, form_url=url)
    assert "没有启用中的店铺模型" in client.get(nothing.location).get_data(as_text=True)
    assert world.shop.sentiment_retrain_requested_at > utcnow() - timedelta(minutes=1)
    world.shop.sentiment_retrain_requested_at = None  # the job found too little history
    world.shop.sentiment_retrain_refused = {
        "at": "2026-11-23T02:00:00+00:00",
        "message": "店铺 x 只有 3 条可用于训练的评价（差评 0 条）<b>",
    }
    session.commit()
    page = client.get(url).get_data(as_text=True)
    assert "上次训练（2026-11-23 10:00）未进行：店铺 x 只有 3 条" in page
    assert "&lt;b&gt;" in page and "请求训练" not in page


def test_the_model_page_says_when_the_installations_model_adapted_to_the_shops_words(
    client: FlaskClient, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.sentiment.test_models import BAD, GOOD, NOW, quick, synthetic
    from tracker.services.training import ShopTexts

    monkeypatch.setattr(client.application, "instance_path", str(tmp_path))
    store = runtime.model_store(client.application)
    hotel = [f"{text}，床铺柔软" for text in GOOD] + [f"{text}，噪音吵闹" for text in BAD]
    report = quick(synthetic(200), now=NOW, source="synthetic", adapt_to=ShopTexts(hotel, 0.5))
    store.save(report.model)
    store.activate(report.model.version)
    login(client, world.users["admin"])
    page = client.get(f"/admin/shops/{world.shop.id}/sentiment").get_data(as_text=True)
    assert f"{report.model.version}</strong>（安装级，已适应各店评价文字 16 条）" in page
    assert "--adapt-to-shops" in page


def _recent_good(session: Session, world: World, key: str, text: str) -> Review:
    """A good rating posted now, on a sale of its own."""
    return add_sale(
        session, world.shop, nick=f"n-{key}", key=key, text=text, at=utcnow() - timedelta(days=3)
    )


def test_the_reviews_list_links_each_case_and_opens_one_for_a_complaint_the_model_missed(
    client: FlaskClient, session: Session, world: World
) -> None:
    """A person reading 评价 sees who has each review's case, and where the model read a
    good rating as happy but the words complain, opens the case from there (the correction
    goes with it, as 是差评 in 待确认)."""
    missed = _recent_good(session, world, "missed", "发货挺快，就是尺码偏小一码")
    missed.sentiment_score, missed.sentiment_model = 0.9, "test"
    session.commit()
    login(client, world.users["agent"])
    page = client.get("/shop/reviews").get_data(as_text=True)
    assert f'href="/cases/{world.case.id}">案件 #{world.case.id}</a>' in page
    assert f'action="/shop/reviews/{missed.id}/case"' in page
    assert f'action="/shop/reviews/{world.case.review_id}/case"' not in page  # it has one
    assert client.post(f"/shop/reviews/{missed.id}/case").status_code == 400  # no CSRF token
    answer = post_form(client, f"/shop/reviews/{missed.id}/case", {}, form_url="/shop/reviews")
    case = session.scalar(sa.select(Case).where(Case.review_id == missed.id))
    assert case is not None and case.is_hidden_negative and case.opened_at > missed.posted_at
    assert answer.location.endswith(f"/cases/{case.id}")
    case_page = client.get(answer.location).get_data(as_text=True)
    assert "首次联系时限从现在起算" in case_page and 'id="staff-label">客服标注负面' in case_page
    agent_name = world.users["agent"].display_name  # type: ignore[union-attr]
    assert f"{agent_name} · 判定：— → 是差评（在评价里发现）" in case_page  # who, in history
    assert session.get(SentimentCorrection, missed.id).is_positive is False
    listed = client.get("/shop/reviews").get_data(as_text=True)  # its case, and the other word
    assert f'href="/cases/{case.id}">案件 #{case.id}</a>' in listed and "已标注负面" in listed
    assert "判断有误？标为正面" in listed and "标为负面" not in listed
    again = post_form(client, f"/shop/reviews/{missed.id}/case", {}, form_url="/shop/reviews")
    assert "这条评价已经有案件了" in client.get(again.location).get_data(as_text=True)
    home = client.get("/").get_data(as_text=True)  # 最新中差评 links the bad review's case
    assert f'href="/cases/{world.case.id}">案件 #{world.case.id}</a>' in home


def test_another_shops_review_gets_no_case_from_the_reviews_list(
    client: FlaskClient, session: Session, world: World
) -> None:
    missed = _recent_good(session, world, "m2", "就是尺码偏小")
    login(client, world.users["other_agent"])
    answer = post_form(client, f"/shop/reviews/{missed.id}/case", {}, form_url="/shop/reviews")
    assert answer.status_code == 404
    assert session.scalar(sa.select(Case).where(Case.review_id == missed.id)) is None


def test_a_second_look_lists_neutral_good_ratings_naming_a_problem(
    client: FlaskClient, session: Session, world: World
) -> None:
    """When 待确认 is empty: 中性 good ratings that name a problem, to open or call fine."""
    stale = _recent_good(session, world, "s1", "默认给好评，但是日期都快过期了")
    happy = _recent_good(session, world, "s2", "温和不刺激，敏感肌友好")
    for review in (stale, happy):
        review.sentiment_score, review.sentiment_model = 0.55, "test"  # 中性 on the bundled scale
    session.commit()
    login(client, world.users["agent"])
    assert "/cases/confirm/second-look" in client.get("/cases/confirm").get_data(as_text=True)
    page = client.get("/cases/confirm/second-look").get_data(as_text=True)
    assert "日期都快过期了" in page and "温和不刺激" not in page  # names no problem
    assert "新鲜度" in page and f'action="/shop/reviews/{stale.id}/case"' in page
    answer = post_form(
        client, f"/cases/confirm/second-look/{stale.id}/fine", {},
        form_url="/cases/confirm/second-look",
    )  # 没问题  # fmt: skip
    assert answer.status_code == 302
    assert "已标为没问题，不再列出" in client.get(answer.location).get_data(as_text=True)
    assert "日期都快过期了" not in client.get("/cases/confirm/second-look").get_data(as_text=True)
    assert session.scalar(sa.select(Case).where(Case.review_id == stale.id)) is None


def test_a_second_look_shows_copied_words_once_and_calls_them_all_fine(
    client: FlaskClient, session: Session, world: World
) -> None:
    """Buyers copy texts: the second look lists the words once, says how many, and one
    没问题 takes them all off the list (as 待确认 does its queue)."""
    copies = [_recent_good(session, world, f"c{n}", "挺好的，就是物流有点慢") for n in range(3)]
    own = _recent_good(session, world, "c9", "挺好的，就是物流有点慢，包装也破了")
    for review in (*copies, own):
        review.sentiment_score, review.sentiment_model = 0.55, "test"
    session.commit()
    login(client, world.users["agent"])
    page = client.get("/cases/confirm/second-look").get_data(as_text=True)
    assert page.count("挺好的，就是物流有点慢</div>") == 1  # the copies as one item
    assert "同样的文字共 3 条，一起处理" in page and "3 条都没问题" in page
    answer = post_form(
        client, f"/cases/confirm/second-look/{copies[0].id}/fine", {"alike": "y"},
        form_url="/cases/confirm/second-look",
    )  # fmt: skip
    assert "已将 3 条评价标为没问题" in client.get(answer.location).get_data(as_text=True)
    left = client.get("/cases/confirm/second-look").get_data(as_text=True)
    assert "挺好的，就是物流有点慢</div>" not in left and "包装也破了" in left  # other words stay
    labels = session.scalars(
        sa.select(SentimentCorrection.review_id).where(SentimentCorrection.is_positive.is_(True))
    ).all()
    assert sorted(labels) == sorted(r.id for r in copies)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, world.users["other_agent"])  # another shop's staff: as for its cases
    refused = post_form(
        client, f"/cases/confirm/second-look/{own.id}/fine", {}, form_url="/cases/confirm"
    )
    assert refused.status_code == 404
    assert session.get(SentimentCorrection, own.id) is None
