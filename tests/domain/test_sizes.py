"""Sizes read from product titles as sellers write them, and which fit a buyer's."""

from __future__ import annotations

import pytest

from tracker.domain.sizes import Size, fits, size_of


@pytest.mark.parametrize(
    ("title", "size"),
    [
        ("加绒连帽卫衣 宽松 百搭 XL 米白色", Size("letter", 4, 4)),
        ("【顺丰包邮】法式碎花连衣裙 收腰显瘦 中长款 M 黑色", Size("letter", 2, 2)),
        ("婴儿纸尿裤 超薄透气 干爽 S码 日常款", Size("letter", 1, 1)),
        ("羽绒服 2XL 黑色", Size("letter", 5, 5)),
        ("羽绒服 XXL 黑色", Size("letter", 5, 5)),
        ("缓震跑步鞋 轻便 透气 38 白色", Size("shoe", 38, 38)),
        ("【店长推荐】居家棉拖鞋 防滑 保暖 36-37 黑色", Size("shoe", 36, 37)),
        ("马丁靴 39码 黑色", Size("shoe", 39, 39)),
        ("纯棉四件套 亲肤 全棉 简约 1.8m床 浅灰色", Size("bed", 1.8, 1.8)),
        ("纯棉四件套 1.5米床", Size("bed", 1.5, 1.5)),
        ("磨砂手机壳 防摔 全包 iPhone 16 黑色", Size("phone", model="iphone 16")),
        ("钢化膜 高清 防指纹 华为 Mate 70 白色", Size("phone", model="华为 mate 70")),
        ("HUAWEI Mate 70 钢化膜", Size("phone", model="华为 mate 70")),
        ("手机壳 iPhone16 Pro Max 透明", Size("phone", model="iphone 16 pro max")),
        ("OPPO Find X7 手机壳 M", Size("phone", model="oppo find x7")),  # the phone first
    ],
)
def test_the_size_a_title_names(title: str, size: Size) -> None:
    assert size_of(title) == size


@pytest.mark.parametrize(
    "title",
    [
        "陕西徐香猕猴桃 绿心 软糯香甜 36枚 产地直发",  # a count, not a size
        "武夷山大红袍 岩茶 炭焙浓香 400g礼盒 一级",
        "宽口径玻璃奶瓶 防胀气 240ml 经典款",
        "运动袜 均码 白色",
        "拖鞋 40-36",  # backwards: not a range
        "华为 快充头 66W",  # a brand alone names no phone
        "快充数据线 编织 耐弯折 两条装 黑色",
        "Mlle 香水",  # a word beginning with a size letter is a word
        "",
        None,
    ],
)
def test_titles_that_name_no_size(title: str | None) -> None:
    assert size_of(title) is None


def test_what_fits_a_size_the_buyer_bought() -> None:
    assert fits(Size("shoe", 38, 38), Size("shoe", 38, 39))  # the 38-39 slipper
    assert fits(Size("shoe", 36, 37), Size("shoe", 37, 37))
    assert not fits(Size("shoe", 38, 38), Size("shoe", 36, 37))
    assert fits(Size("letter", 3, 3), Size("letter", 3, 3))
    assert not fits(Size("letter", 3, 3), Size("letter", 4, 4))
    assert not fits(Size("letter", 2, 2), Size("shoe", 2, 2))  # another system
    assert fits(Size("phone", model="iphone 16"), Size("phone", model="iphone 16"))
    assert not fits(Size("phone", model="iphone 16"), Size("phone", model="iphone 16 pro"))
