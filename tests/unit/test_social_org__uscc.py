from __future__ import annotations

import pytest

from workflows.social_org.uscc import check_digit, is_valid_uscc, make_uscc, uscc_error


@pytest.mark.parametrize("code", ["91350100M000100Y43", "91110108551385082Q"])
def test_published_codes_are_valid(code: str) -> None:
    assert uscc_error(code) is None


def test_check_digit_is_detected() -> None:
    good = make_uscc("1", "511402", 12345)
    assert is_valid_uscc(good)
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    assert uscc_error(wrong) == "统一社会信用代码校验位错误"


@pytest.mark.parametrize(("code", "message"), [
    ("5151140000000000", "应为 18 位"),
    ("51511400MJ00000I1X", "不允许的字符"),
    ("515114a0MJ0000011X", "不允许的字符"),
    ("51AB1400MJ0000011X", "行政区划码"),
])
def test_format_errors_are_explained_in_chinese(code: str, message: str) -> None:
    error = uscc_error(code)
    assert error is not None and message in error


def test_check_digit_31_is_written_zero() -> None:
    # find a body whose weighted sum is ≡ 0 (mod 31): its check digit must be "0", never out of range
    for n in range(5000):
        body = make_uscc("2", "511400", n)[:17]
        if check_digit(body) == "0":
            assert is_valid_uscc(body + "0")
            return
    pytest.fail("no body with check digit 0 found")
