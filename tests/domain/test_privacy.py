import pytest

from tracker.domain.privacy import mask_phone


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13812345678", "138****5678"),
        ("138 1234 5678", "138****5678"),
        ("+86 138-1234-5678", "138****5678"),
        ("0571-88886666", "********6666"),
        ("123", "***"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_phone(phone: str | None, masked: str) -> None:
    assert mask_phone(phone) == masked
