"""An SMS's billed parts, as the providers count them (Aliyun's 短信发送规则)."""

from __future__ import annotations

import pytest

from tracker.domain.sms_length import billed_parts


@pytest.mark.parametrize(
    ("length", "parts"),
    [(0, 1), (1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (160, 3), (150, 3), (201, 3), (202, 4)],
)
def test_up_to_seventy_is_one_message_and_a_longer_one_is_split_at_sixty_seven(
    length: int, parts: int
) -> None:
    assert billed_parts("字" * length) == parts


def test_every_character_counts_one_whatever_its_width() -> None:
    """汉字, letters, digits, full- and half-width punctuation, spaces and 【】 alike."""
    text = "【好店】" + "a1，, 。" * 11  # 4 + 6 × 11 = 70
    assert len(text) == 70 and billed_parts(text) == 1
    assert billed_parts(text + " ") == 2
