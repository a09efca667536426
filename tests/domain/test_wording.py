from __future__ import annotations

import pytest

from tracker.domain.wording import short_product, spoken_name, written_name


@pytest.mark.parametrize(
    ("title", "said"),
    [
        ("【顺丰包邮】氨基酸洗面奶 温和清洁 不紧绷 100g 清香型", "氨基酸洗面奶"),
        ("赣南脐橙 5斤装 新鲜", "赣南脐橙"),
        ("[官方正品] 香氛沐浴露 持久留香", "香氛沐浴露"),
        ("5斤装 赣南脐橙", "赣南脐橙"),
        ("", "宝贝"),
        (None, "宝贝"),
    ],
)
def test_a_product_as_a_person_says_it(title: str | None, said: str) -> None:
    assert short_product(title) == said


def test_a_buyer_is_greeted_by_name_or_as_qin_never_by_nick() -> None:
    assert (
        spoken_name("黄桂英") == "黄桂英" and spoken_name(None) == "亲" and spoken_name(" ") == "亲"
    )
    assert written_name("李雷") == "李先生/女士" and written_name(None) == "亲"
    assert written_name("李*") == "李先生/女士"  # the masked name is enough for an SMS


def test_a_listing_in_a_legend_keeps_what_tells_two_sizes_apart() -> None:
    from tracker.domain.wording import listing_name

    assert (
        listing_name("【爆款】云南普洱熟茶 勐海古树 357g饼 三饼装")
        == "云南普洱熟茶 勐海古树 357g饼…"
    )
    assert listing_name("赣南脐橙 5斤装") == "赣南脐橙 5斤装"


def test_another_listing_of_a_product_is_said_by_what_sets_it_apart() -> None:
    from tracker.domain.wording import variant_of

    shown = "缓震跑步鞋 轻便 透气 40 黑色"
    assert variant_of("【爆款】缓震跑步鞋 轻便 透气 39 白色", shown) == "39 白色"
    assert (
        variant_of("【顺丰包邮】氨基酸洗面奶 100g 清香型", "氨基酸洗面奶 100g 无香型") == "清香型"
    )
    # the same words under another tag: the name itself, without the tag
    assert variant_of("【爆款】赣南脐橙 5斤装", "赣南脐橙 5斤装") == "赣南脐橙 5斤装"
