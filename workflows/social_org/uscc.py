"""The unified social credit code (统一社会信用代码), GB 32100-2015.

    position  1     registration authority (登记管理部门代码): 5 = 民政
              2     organization category (机构类别代码): under 民政 1 社会团体, 2 民办非企业单位, 3 基金会, 9 其他
              3-8   administrative division code (登记管理机关行政区划码), six digits
              9-17  organization code (主体标识码, GB 11714)
              18    check digit over positions 1-17

Characters come from a 31-character set (digits and capitals without I, O, S, V, Z). The check digit is
31 - (Σ value(c_i) × w_i mod 31), with the weights w_i = 3^(i-1) mod 31; a result of 31 is written 0.
"""

from __future__ import annotations

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
VALUES = {c: i for i, c in enumerate(CHARSET)}
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
CIVIL_AFFAIRS = "5"
# Organization type → category code (position 2) under the civil-affairs authority.
CATEGORY_OF_TYPE = {"social_group": "1", "private_non_enterprise": "2", "foundation": "3"}


def check_digit(first17: str) -> str:
    total = sum(VALUES[c] * w for c, w in zip(first17, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def uscc_error(code: str) -> str | None:
    """None when `code` is a well-formed USCC with a correct check digit, else the reason in Chinese."""
    if len(code) != 18:
        return f"统一社会信用代码应为 18 位,实际为 {len(code)} 位"
    bad = sorted({c for c in code if c not in VALUES})
    if bad:
        return "统一社会信用代码含有不允许的字符:" + "".join(bad) + "(不使用 I、O、S、V、Z 及小写字母)"
    if not (code[2:8].isascii() and code[2:8].isdecimal()):
        return "统一社会信用代码第 3-8 位应为行政区划码(6 位数字)"
    if check_digit(code[:17]) != code[17]:
        return "统一社会信用代码校验位错误"
    return None


def is_valid_uscc(code: str) -> bool:
    return uscc_error(code) is None


def make_uscc(category: str, division: str, serial: int) -> str:
    """A well-formed code for demo data: 5 + category + division + 9-character serial + check digit."""
    body = f"{CIVIL_AFFAIRS}{category}{division}{_base31(serial, 9)}"
    return body + check_digit(body)


def _base31(n: int, width: int) -> str:
    out = []
    for _ in range(width):
        n, r = divmod(n, 31)
        out.append(CHARSET[r])
    return "".join(reversed(out))
