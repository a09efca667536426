from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from tests.conftest import NOW, count, lately, local_text
from tests.factories import add_sale
from tests.sentiment.test_models import BAD, GOOD
from tracker.models import Case, Review, SentimentCorrection
from tracker.models.enums import Rating
from tracker.runtime import model_store
from tracker.services import shop_models

CSV = (
    "订单编号,子订单编号,买家会员名,评价结果,评价内容,评价时间\n"
    f"1,11,甲,差评,太差了,{local_text(lately())}\n2,22,乙,好评,不错,{local_text(lately(1))}\n"
)


@pytest.fixture
def instance(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private instance folder: models trained here do not leak into other tests."""
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    return tmp_path


def test_import_command(app: Flask, session: Session, make_shop, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    make_shop(code="tm")
    good = tmp_path / "评价.csv"
    good.write_bytes(CSV.encode("gbk"))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import", "reviews", str(good), "--shop", "tm"])
    assert result.exit_code == 0, result.output
    assert "已导入 2/2 行" in result.output and "开案 1" in result.output
    assert count(session, Review) == 2 and count(session, Case) == 1

    bad = tmp_path / "bad.csv"
    bad.write_text(CSV + "3,33,丙,很好,x,2026-11-22\n", encoding="utf-8")
    result = runner.invoke(args=["import", "reviews", str(bad), "--shop", "tm"])
    assert result.exit_code == 1
    assert (
        "第 4 行，列「评价结果」，值「很好」" in result.output and "未导入任何数据" in result.output
    )
    assert "--skip-bad-rows" in result.output  # a bad row: skipping it helps
    twice = tmp_path / "twice.csv"
    twice.write_text(CSV + CSV.splitlines(keepends=True)[1], encoding="utf-8")
    result = runner.invoke(args=["import", "reviews", str(twice), "--shop", "tm"])
    assert result.exit_code == 1 and "第 4 行与第 2 行" in result.output
    assert "--skip-bad-rows" not in result.output  # the file's own problem: it cannot
    result = runner.invoke(args=["import", "reviews", str(bad), "--shop", "tm", "--skip-bad-rows"])
    assert result.exit_code == 0 and "跳过 1" in result.output
    result = runner.invoke(args=["import", "reviews", str(good), "--shop", "nope"])
    assert result.exit_code == 2 and "no shop 'nope'" in result.output
    result = runner.invoke(args=["import", "reviews", str(good), "--shop", "tm", "--map", "x"])
    assert result.exit_code == 2 and "列名=字段名" in result.output


def test_import_command_says_whose_personal_data_it_left_out(
    app: Flask, session: Session, make_shop, make_user, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from tracker.models import Buyer
    from tracker.models.enums import Role
    from tracker.services import erasure

    shop = make_shop(code="tm")
    buyer = Buyer(shop_id=shop.id, platform_nick="小鹿", created_at=NOW, tags=[], preferences="")
    session.add(buyer)
    session.commit()
    erasure.erase(session, buyer, make_user(Role.ADMIN), reason="买家邮件", now=NOW)
    orders = tmp_path / "订单.csv"
    orders.write_text(
        "订单编号,买家会员名,订单付款时间,宝贝标题,价格,联系手机\n"
        "T9,小鹿,2026-11-20 10:00:00,赣南脐橙,39.9,13900001111\n",
        encoding="utf-8",
    )
    result = app.test_cli_runner().invoke(args=["import", "orders", str(orders), "--shop", "tm"])
    assert result.exit_code == 0, result.output
    assert "1 行属于已要求删除个人信息的买家" in result.output


def test_train_from_a_file_activate_and_roll_back(
    app: Flask, instance: Path, tmp_path: Path
) -> None:
    rng = random.Random(3)
    lines = ["cat,label,review"]
    for i in range(300):
        label = i % 2
        lines.append(f"水果,{label},{'，'.join(rng.sample(GOOD if label else BAD, 2))}")
    data = tmp_path / "labelled.csv"
    data.write_text("\n".join(lines), encoding="utf-8")
    runner = app.test_cli_runner()
    first = runner.invoke(args=["train-sentiment", "--data", str(data), "--no-general-corpus"])
    assert first.exit_code == 0, first.output
    assert "负面 F1" in first.output and "已启用" in first.output
    store = model_store(app)
    assert len(store.versions()) == 1 and store.current_version() == store.versions()[0]
    assert runner.invoke(args=["train-sentiment", "--use-snownlp"]).exit_code == 0
    assert store.current_version() == "snownlp"
    back = runner.invoke(args=["train-sentiment", "--rollback"])
    assert back.exit_code == 0 and store.current_version() == store.versions()[0]
    none_left = runner.invoke(args=["train-sentiment", "--rollback"])
    assert none_left.exit_code == 1 and "no earlier model" in none_left.output
    both = runner.invoke(args=["train-sentiment", "--data", str(data), "--shop", "x"])
    assert both.exit_code == 2


def _labelled_csv(tmp_path: Path) -> Path:
    rng = random.Random(3)
    data = tmp_path / "labelled.csv"
    data.write_text(
        "label,review\n"
        + "\n".join(
            f"{i % 2},{'，'.join(rng.sample(GOOD if i % 2 else BAD, 2))}" for i in range(200)
        ),
        encoding="utf-8",
    )
    return data


def _train_adapted(app: Flask, data: Path, out: Path):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(
        args=[
            "train-sentiment",
            "--data",
            str(data),
            "--no-general-corpus",
            "--adapt-to-shops",
            "--output",
            str(out),
        ]
    )


def test_the_shops_review_texts_a_model_adapts_to(session: Session, make_shop) -> None:  # type: ignore[no-untyped-def]
    """--adapt-to-shops reads the words of every shop's reviews of the last year, and their
    ratings only as a share; never a system-default text, a deleted review or one older than
    a year."""
    from tracker.services.training import ShopTexts, shops_review_texts

    now = lately()
    for n, (shop_code, text, days, rating) in enumerate(
        (
            ("a", "床铺柔软，很满意", 3, Rating.GOOD),
            ("b", "噪音吵闹，很失望", 30, Rating.NEUTRAL),
            ("a", "很久以前的评价", 400, Rating.BAD),
        )
    ):
        add_sale(
            session,
            make_shop(code=f"{shop_code}{n}"),
            text=text,
            at=now - timedelta(days=days),
            key=str(n),
            rating=rating,
        )
    hidden = add_sale(session, make_shop(code="c"), text="买家删了这条", at=now, key="d")
    hidden.is_deleted = True
    default = add_sale(session, make_shop(code="d"), text="系统默认好评", at=now, key="e")
    default.is_system_default = True
    session.commit()
    assert shops_review_texts(session, now=now) == ShopTexts(
        ["床铺柔软，很满意", "噪音吵闹，很失望"], not_good_share=0.5
    )


def test_train_adapted_to_the_shops_review_texts(
    app: Flask, instance: Path, tmp_path: Path, session: Session, make_shop
) -> None:  # type: ignore[no-untyped-def]
    """A model adapted to the shops' words says how many, and what share of them is not
    rated good (it bounds the texts taken as complaints)."""
    rng = random.Random(4)
    shop, now = make_shop(code="hotel"), lately()
    for n in range(80):
        good = n % 4 != 0  # a quarter not rated good
        words = "，".join(rng.sample(GOOD if good else BAD, 2))
        add_sale(
            session,
            shop,
            text=f"{words}，{'床铺柔软' if good else '噪音吵闹'}{n}",
            at=now - timedelta(days=n),
            key=str(n),
            nick=f"买家{n}",
            rating=Rating.GOOD if good else Rating.BAD,
        )
    session.commit()
    out = tmp_path / "models"
    result = _train_adapted(app, _labelled_csv(tmp_path), out)
    assert result.exit_code == 0, result.output
    assert "适应各店评价文字 80 条（非好评占 25.0%）" in result.output
    (saved,) = out.iterdir()
    meta = json.loads((saved / "meta.json").read_text(encoding="utf-8"))
    assert meta["source"].endswith("adapted to 80 shop reviews")
    assert meta["adapted_to"] == 80 and meta["not_good_share"] == 0.25


def test_nothing_is_adapted_to_shops_whose_reviews_are_all_good(
    app: Flask, instance: Path, tmp_path: Path, session: Session, make_shop
) -> None:  # type: ignore[no-untyped-def]
    """Self-training takes no more texts as complaints than half the share not rated good:
    with none, nothing is taken, and the command says the model was not adapted."""
    shop, now = make_shop(code="happy"), lately()
    for n in range(40):
        add_sale(session, shop, text=f"很满意，会回购{n}", at=now, key=str(n), nick=f"买家{n}")
    session.commit()
    out = tmp_path / "models"
    result = _train_adapted(app, _labelled_csv(tmp_path), out)
    assert result.exit_code == 0, result.output
    assert "非好评占 0.0%" in result.output and "模型未做适应" in result.output
    (saved,) = out.iterdir()
    meta = json.loads((saved / "meta.json").read_text(encoding="utf-8"))
    assert "adapted_to" not in meta and "adapted" not in meta["source"]


def test_train_from_shop_history_uses_corrections(
    app: Flask,
    instance: Path,
    session: Session,  # type: ignore[no-untyped-def]
    make_shop,
) -> None:
    shop = make_shop(code="hist")
    rng = random.Random(5)
    for i in range(240):
        good = i % 2 == 0
        review = add_sale(
            session,
            shop,
            nick=f"n{i}",
            key=str(i),
            at=NOW,
            rating=Rating.GOOD if good else Rating.BAD,
            text="，".join(rng.sample(GOOD if good else BAD, 2)),
        )
        if i == 0:  # staff said this good rating's text is really negative
            session.add(SentimentCorrection(review_id=review.id, is_positive=False, created_at=NOW))
    add_sale(session, shop, nick="mid", key="n", at=NOW, rating=Rating.NEUTRAL, text="一般")
    session.commit()
    from tracker.services.training import shop_history

    examples = shop_history(session, shop)
    assert len(examples) == 240  # neutral left out
    assert sum(1 for e in examples if e.label == 0) == 121  # 120 bad + 1 corrected
    runner = app.test_cli_runner()
    result = runner.invoke(args=["train-sentiment", "--shop", "hist", "--no-general-corpus"])
    assert result.exit_code == 0, result.output
    assert "hist：模型 shop" in result.output  # judged against the model scoring it now
    (kept,) = shop_models.models(session, shop.id)
    # the installation's model never learned the shop: every review judges, every one is
    # learned from (each judged by fold models that did not learn it)
    assert kept.examples == 240 and kept.figures["judged_on"] == 240
    assert model_store(app).versions() == []  # the installation's model is untouched
    back = runner.invoke(args=["train-sentiment", "--shop", "hist", "--rollback"])
    if kept.status == shop_models.ACTIVE:
        assert back.exit_code == 0 and "安装级默认模型" in back.output
    else:
        assert back.exit_code == 1 and "没有启用中的店铺模型" in back.output


def test_token_and_pull_commands(app: Flask, session: Session, make_shop) -> None:  # type: ignore[no-untyped-def]
    make_shop(code="tk")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["api-token", "--shop", "tk"])
    assert result.exit_code == 0 and result.output.startswith("trk_")
    result = runner.invoke(args=["pull", "--shop", "tk"])
    assert result.exit_code == 1 and "没有配置评价接口凭据" in result.output


def test_score_pending_command(app: Flask, session: Session, make_shop) -> None:  # type: ignore[no-untyped-def]
    shop = make_shop(code="sp")
    add_sale(session, shop, text="东西很好，物流也快", at=lately(), key="1")
    add_sale(
        session, shop, text="好评，但是质量太差了，用两天就坏了", at=lately(), key="2", nick="乙"
    )
    result = app.test_cli_runner().invoke(args=["score-pending"])
    assert result.exit_code == 0, result.output
    assert "sp: 评分 2，开案 1" in result.output
    scores = session.scalars(sa.select(Review.sentiment_score).order_by(Review.id)).all()
    assert scores[0] > 0.5 > scores[1]
