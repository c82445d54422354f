import pytest

from guanxi_common.identifiers import (
    CREDIT_CODE_CHARSET,
    CREDIT_CODE_WEIGHTS,
    credit_code_check_char,
    format_customer_number,
    is_customer_number,
    is_valid_credit_code,
    make_credit_code,
    normalize_credit_code,
    parse_customer_number,
    validate_credit_code,
)

# Public codes of well-known companies; each passes the GB 32100-2015 check.
REAL_CODES = [
    "91110000802100433B",
    "914403001922038216",  # 华为技术有限公司
    "91440300708461136T",  # 深圳市腾讯计算机系统有限公司
    "91330100799655058B",  # 阿里巴巴(中国)有限公司
    "91110108551385082Q",  # 小米科技有限责任公司
    "91110000710925462X",
]


def test_customer_number_is_c_and_eight_digits():
    assert format_customer_number(1234) == "C00001234"
    assert format_customer_number(1) == "C00000001"
    assert format_customer_number(99999999) == "C99999999"


def test_customer_number_grows_beyond_eight_digits():
    assert format_customer_number(123456789) == "C123456789"
    assert parse_customer_number("C123456789") == 123456789


@pytest.mark.parametrize("bad", [0, -5, True, 1.0, "12"])
def test_customer_number_needs_a_positive_int(bad):
    with pytest.raises(ValueError):
        format_customer_number(bad)


def test_parse_customer_number_round_trips_and_tolerates_typing():
    for seq in (1, 1234, 99999999, 100000000):
        assert parse_customer_number(format_customer_number(seq)) == seq
    assert parse_customer_number(" c00001234 ") == 1234
    assert parse_customer_number("Ｃ００００１２３４") == 1234


@pytest.mark.parametrize("text", ["C1234", "C00000000", "C000001234", "X00001234", "C0000123A", "", None, 1234])
def test_parse_customer_number_refuses_what_we_never_issue(text):
    assert parse_customer_number(text) is None
    assert not is_customer_number(text)


def test_weights_are_powers_of_three_mod_31():
    assert list(CREDIT_CODE_WEIGHTS) == [pow(3, i, 31) for i in range(17)]
    assert len(CREDIT_CODE_CHARSET) == 31
    assert not set("IOZSV") & set(CREDIT_CODE_CHARSET)


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_are_valid(code):
    assert validate_credit_code(code) == []
    assert credit_code_check_char(code[:17]) == code[17]


def test_check_char_by_hand():
    # 9*1 + 1*3 + 1*9 + 1*27 + 8*20 + 2*25 + 1*13 + 4*10 + 3*30 + 3*28 = 485;
    # 485 mod 31 = 20; 31 - 20 = 11, and value 11 in the charset is "B".
    assert credit_code_check_char("91110000802100433") == "B"
    assert CREDIT_CODE_CHARSET[11] == "B"


def test_check_value_31_maps_to_zero():
    # find a prefix whose weighted sum is a multiple of 31: the check character must be "0"
    prefix = next(p for p in (f"9144030000000{n:04d}" for n in range(10000))
                  if sum(CREDIT_CODE_CHARSET.index(c) * w for c, w in zip(p, CREDIT_CODE_WEIGHTS)) % 31 == 0)
    assert credit_code_check_char(prefix) == "0"
    assert validate_credit_code(prefix + "0") == []


@pytest.mark.parametrize("code", REAL_CODES)
def test_every_single_character_change_is_detected(code):
    for pos in range(18):
        for ch in CREDIT_CODE_CHARSET:
            if ch != code[pos]:
                changed = code[:pos] + ch + code[pos + 1:]
                assert validate_credit_code(changed), changed


def test_adjacent_swaps_are_detected():
    code = REAL_CODES[1]
    for pos in range(17):
        if code[pos] != code[pos + 1]:
            swapped = code[:pos] + code[pos + 1] + code[pos] + code[pos + 2:]
            assert not is_valid_credit_code(swapped), swapped


def test_validation_reasons_name_the_problem():
    assert "18 characters" in validate_credit_code("91110000802100433")[0]
    assert "not allowed" in validate_credit_code("91110000802100433O")[0]
    assert "not allowed" in validate_credit_code("91110000802100433b")[0]
    bad_authority = make_credit_code("B1110000802100433")
    assert any("registration authority" in r for r in validate_credit_code(bad_authority))
    bad_region = make_credit_code("91990000802100433")
    assert any("province" in r for r in validate_credit_code(bad_region))
    letters_in_region = make_credit_code("911100A0802100433")
    assert any("6 digits" in r for r in validate_credit_code(letters_in_region))
    assert any("expected 'B'" in r for r in validate_credit_code("91110000802100433C"))
    assert validate_credit_code(None) == ["must be a string"]


def test_normalize_credit_code_handles_how_people_write_it():
    assert normalize_credit_code(" 9111 0000-8021 00433b ") == "91110000802100433B"
    assert normalize_credit_code("９１１１００００８０２１００４３３Ｂ") == "91110000802100433B"
    assert normalize_credit_code(None) == ""


def test_make_credit_code_produces_valid_codes():
    for prefix in ("91310000MA1FL8K6X", "12100000400000419", "51100000500019346", "Y1440300MA5DXY0Q1"):
        code = make_credit_code(prefix)
        assert len(code) == 18 and code[:17] == prefix
        assert validate_credit_code(code) == []
    assert make_credit_code("9131 0000 ma1fl8k6x") == make_credit_code("91310000MA1FL8K6X")


def test_check_char_refuses_bad_input():
    with pytest.raises(ValueError):
        credit_code_check_char("9111000080210043")
    with pytest.raises(ValueError):
        credit_code_check_char("9111000080210043I")
