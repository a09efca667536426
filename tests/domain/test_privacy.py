import pytest

from tracker.domain.privacy import coarse_area, mask_name, mask_phone


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


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("郑俊杰", "郑**"),
        ("李雷", "李*"),
        ("欧阳娜娜", "欧***"),
        ("王", "王*"),
        (" ", ""),
        (None, ""),
    ],
)
def test_mask_name_keeps_the_surname_an_sms_greets(name: str | None, masked: str) -> None:
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    ("region", "area"),
    [
        ("浙江省杭州市西湖区文三路 100 号", "浙江省"),
        ("浙江省 杭州市 西湖区", "浙江省"),
        ("上海 上海市 浦东新区 世纪大道 8 号", "上海"),
        ("北京市朝阳区建国路 1 号", "北京市"),
        ("广西壮族自治区南宁市青秀区", "广西壮族自治区"),
        ("香港特别行政区九龙", "香港特别行政区"),
        ("", ""),
        (None, ""),
    ],
)
def test_coarse_area_is_the_province_never_the_street(region: str | None, area: str) -> None:
    assert coarse_area(region) == area
