"""The sentiment model: training, saving without pickle, loading, the store's rollback."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tracker.sentiment.hashed_logistic import HashedLogisticModel
from tracker.sentiment.metrics import evaluate, pick_threshold
from tracker.sentiment.store import ModelError, ModelStore, bundled_model_dir, load_scorer
from tracker.services.training import Example, TrainingError, read_labelled_csv, train

NOW = datetime(2026, 11, 23, tzinfo=UTC)
GOOD = [
    "很好吃，很甜",
    "质量不错，物流很快",
    "非常满意，会回购",
    "包装精美，送人很好",
    "客服态度好",
    "性价比高，推荐",
    "孩子很喜欢",
    "颜色很正，穿着舒服",
]
BAD = [
    "太差了，坏了一半",
    "质量很差，不会再买",
    "物流太慢，很失望",
    "包装破损，漏液了",
    "客服态度恶劣",
    "假货，差评",
    "用了两天就坏了",
    "味道很怪，难吃",
]


def synthetic(n: int, seed: int = 1) -> list[Example]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        label = rng.random() < 0.5
        parts = rng.sample(GOOD if label else BAD, 2)
        out.append(Example("，".join(parts), int(label)))
    return out


def test_training_learns_and_reports_holdout_metrics() -> None:
    report = train(synthetic(400), now=NOW, source="synthetic")
    assert report.holdout["n"] == 80 and report.holdout["neg_f1"] > 0.95
    model = report.model
    good, bad = model.score(["很甜，会回购", "坏了，很失望"])
    assert good > 0.7 and bad < 0.3
    assert model.meta["source"] == "synthetic" and model.version.startswith("hlr-20261123")


def test_save_and_load_round_trip_without_pickle(tmp_path: Path) -> None:
    model = train(synthetic(200), now=NOW, source="synthetic").model
    model.save(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["meta.json", "model.npz"]
    loaded = HashedLogisticModel.load(tmp_path / "m")
    texts = ["很好吃", "太差了", ""]
    assert loaded.score(texts) == pytest.approx(model.score(texts), abs=1e-6)
    assert loaded.threshold == model.threshold and loaded.version == model.version
    assert loaded.score([]) == []


def test_store_activates_and_rolls_back(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "sentiment")
    first = train(synthetic(200, 1), now=NOW, source="a").model
    second = train(synthetic(200, 2), now=NOW.replace(hour=1), source="b").model
    for model in (first, second):
        store.save(model)
        store.activate(model.version)
    assert load_scorer("auto", store).version == second.version
    assert store.rollback() == first.version
    assert load_scorer("auto", store).version == first.version
    with pytest.raises(ModelError, match="no earlier model"):
        store.rollback()
    with pytest.raises(ModelError, match="already exists"):
        store.save(first)
    with pytest.raises(ModelError, match="no model"):
        store.activate("nope")


def test_without_a_trained_model_the_bundled_one_is_used(tmp_path: Path) -> None:
    scorer = load_scorer("auto", ModelStore(tmp_path / "empty"))
    assert scorer.version == bundled_model_dir().name
    happy, unhappy = scorer.score(["东西很好，物流也快，好评", "质量太差了，用两天就坏了，差评"])
    assert happy > 0.8 and unhappy < 0.2


def test_snownlp_is_always_available(tmp_path: Path) -> None:
    scorer = load_scorer("snownlp", ModelStore(tmp_path))
    happy, unhappy = scorer.score(["很好吃，很喜欢", "太差了，很失望"])
    assert happy > unhappy


def test_labelled_csv_errors_name_the_row(tmp_path: Path) -> None:
    path = tmp_path / "train.csv"
    path.write_text("cat,label,review\n水果,1,很甜\n水果,x,坏了\n书籍,0,无聊\n", encoding="utf-8")
    with pytest.raises(TrainingError, match="第 3 行，列「label」，值「x」"):
        read_labelled_csv(path)
    path.write_text("cat,label,review\n水果,1,很甜\n书籍,0,无聊\n", encoding="utf-8-sig")
    assert [e.category for e in read_labelled_csv(path, exclude_categories=["书籍"])] == ["水果"]
    path.write_text("text\n好\n", encoding="utf-8")
    with pytest.raises(TrainingError, match="missing column"):
        read_labelled_csv(path)
    with pytest.raises(TrainingError, match="both positive and negative"):
        train([Example("好", 1)] * 100, now=NOW, source="x")


def test_metrics_and_threshold_choice() -> None:
    labels = [0, 0, 0, 1, 1, 1]
    scores = [0.1, 0.4, 0.55, 0.6, 0.8, 0.9]
    m = evaluate(labels, scores, 0.5)
    assert (m["neg_recall"], m["neg_precision"]) == (pytest.approx(2 / 3, abs=1e-3), 1.0)
    assert evaluate(labels, scores, pick_threshold(labels, scores))["neg_recall"] == 1.0
