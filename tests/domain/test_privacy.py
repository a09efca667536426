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


def test_redact_takes_out_numbers_names_and_addresses_but_not_order_numbers() -> None:
    from tracker.domain.privacy import REDACTED, identifying_parts, redact

    known = identifying_parts("郑俊杰", "浙江省 杭州市 西湖区 文三路100号5幢")
    assert known == ["郑俊杰", "浙江省 杭州市 西湖区 文三路100号5幢", "文三路100号5幢"]
    note = (
        "郑俊杰说改用 138 1234 5678 联系，白天打 0571-88886666，虚拟号 18400913965-1234 失效了；"
        "补发寄到文三路 100 号 5 幢。订单 3730259898842881245，尾号 138****5678，郑**"
    )
    cleaned = redact(note, known)
    assert cleaned is not None
    for gone in ("郑俊杰", "1234 5678", "88886666", "18400913965", "文三路"):
        assert gone not in cleaned
    assert cleaned.count(REDACTED) == 5
    # an order number, a masked number and a masked name identify no one: they stay
    assert "3730259898842881245" in cleaned and "138****5678" in cleaned and "郑**" in cleaned
    assert redact("+86-13912345678转8", []) == REDACTED
    assert redact("", known) == "" and redact(None, known) is None
    assert identifying_parts(None, "萧山区市心路 88 号")[-1] == "市心路88号"
    assert identifying_parts(None, "北京市海淀路1号")[-1] == "海淀路1号"
    assert identifying_parts(None, "浙江省") == ["浙江省"] and identifying_parts(None, None) == []


def test_what_names_the_buyer_and_the_numbers_a_public_text_writes() -> None:
    from tracker.domain.privacy import identifying_parts, personal_data_in, phone_numbers_in

    known = [
        *identifying_parts("郑俊杰", "浙江省杭州市西湖区文三路100号"),
        "布丁橘子713",
        "3900475",
    ]
    text = (
        "郑 俊杰您好，已联系布丁橘子713，订单3900475已补发到文三路 100 号；"
        "有问题请打 138 1234 5678 或 0571-88886666"
    )
    assert personal_data_in(text, known) == ["郑 俊杰", "布丁橘子713", "3900475", "文三路 100 号"]
    assert phone_numbers_in(text) == ["138 1234 5678", "0571-88886666"]
    # masked forms identify no one
    masked = "郑**您好，尾号 138****5678 的号码已收到反馈，谢谢"
    assert personal_data_in(masked, known) == [] and phone_numbers_in(masked) == []
    assert personal_data_in("非常抱歉，已为您补发。", []) == []
