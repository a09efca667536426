from __future__ import annotations

import pytest

from tracker.domain.phone_numbers import NumberError, PhoneNumber, masked, parse_number


@pytest.mark.parametrize(
    ("text", "number", "extension"),
    [
        ("13812345678", "13812345678", None),
        ("+86 138-1234-5678", "13812345678", None),
        ("0086 13812345678", "13812345678", None),
        ("0571-88992688", "057188992688", None),
        ("18400913965-7576", "18400913965", "7576"),
        ("18400913965转7576", "18400913965", "7576"),
        ("18400913965_7576", "18400913965", "7576"),
        (" 184 0091 3965 - 7576 ", "18400913965", "7576"),
    ],
)
def test_numbers_as_shops_and_platforms_write_them(
    text: str, number: str, extension: str | None
) -> None:
    assert parse_number(text) == PhoneNumber(number, extension)


@pytest.mark.parametrize("text", ["", "138****5678", "12345", "1381234567", "abc", "23812345678"])
def test_what_cannot_be_dialled_is_refused_with_the_reason(text: str) -> None:
    with pytest.raises(NumberError) as refused:
        parse_number(text)
    assert str(refused.value)


def test_a_masked_export_says_what_to_do() -> None:
    with pytest.raises(NumberError, match="打码"):
        parse_number("138****5678")


def test_pages_see_only_a_mask_and_phones_dial_the_extension() -> None:
    virtual = parse_number("18400913965-7576")
    assert masked(virtual) == "184****3965 转 7576" and virtual.dialable() == "18400913965,7576"
    assert masked(parse_number("13812345678")) == "138****5678"
