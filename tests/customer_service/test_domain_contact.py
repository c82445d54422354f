import pytest

from guanxi_common.contact import (
    InvalidContact,
    PhoneInfo,
    describe_phone,
    email_ascii_domain,
    normalize_email,
    normalize_phone,
    phone_search_key,
)


@pytest.mark.parametrize("text", [
    "13812345678",
    "138 1234 5678",
    "138-1234-5678",
    "138.1234.5678",
    "(138) 1234 5678",
    "+86 138 1234 5678",
    "+86-138-1234-5678",
    "0086 138 1234 5678",
    "86 13812345678",
    "８６１３８１２３４５６７８",
    "＋８６　１３８－１２３４－５６７８",
    "tel:+8613812345678",
    " 013812345678 ",
    "(+86) 138 1234 5678",
    "（＋８６）１３８１２３４５６７８",
    "(0086) 138-1234-5678",
])
def test_cn_mobile_in_any_written_form(text):
    assert normalize_phone(text) == "+8613812345678"


def test_parenthesised_country_code():
    assert normalize_phone("(+86) 155 2298 6403") == "+8615522986403"
    assert phone_search_key("(+86) 155 2298 6403") == "+8615522986403"
    assert normalize_phone("(+852) 2345 6789") == "+85223456789"


@pytest.mark.parametrize("text, expected", [
    ("010-12345678", "+861012345678"),
    ("(010) 6552 9988", "+861065529988"),
    ("(0755) 8888 8888", "+8675588888888"),
    ("0755-88888888", "+8675588888888"),
    ("021 5888 1234", "+862158881234"),
    ("0571-8765432", "+865718765432"),
    ("+86 (0)755 8888 8888", "+8675588888888"),
    ("+86 755 8888 8888", "+8675588888888"),
    ("0086-10-12345678", "+861012345678"),
    ("400-810-8888", "+864008108888"),
    ("800 820 8820", "+868008208820"),
])
def test_cn_landlines_and_service_numbers(text, expected):
    assert normalize_phone(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("+1 (415) 555-2671", "+14155552671"),
    ("001 415 555 2671", "+14155552671"),
    ("00 44 20 7946 0958", "+442079460958"),
    ("+44 (0)20 7946 0958", "+442079460958"),
    ("+852 2345 6789", "+85223456789"),
    ("+886 2 2345 6789", "+886223456789"),
    ("+49 30 901820", "+4930901820"),
    ("+33 1 42 68 53 00", "+33142685300"),
])
def test_international_forms(text, expected):
    assert normalize_phone(text) == expected


def test_normalized_phone_is_a_fixed_point():
    for text in ("138 1234 5678", "010-12345678", "+1 (415) 555-2671", "+852 2345 6789", "+49 30 901820"):
        e164 = normalize_phone(text)
        assert normalize_phone(e164) == e164


def test_default_region_reads_national_numbers_of_that_region():
    assert normalize_phone("2345 6789", default_region="HK") == "+85223456789"
    assert normalize_phone("(415) 555-2671", default_region="US") == "+14155552671"
    assert normalize_phone("1 415 555 2671", default_region="US") == "+14155552671"
    assert normalize_phone("020 7946 0958", default_region="GB") == "+442079460958"
    with pytest.raises(ValueError):
        normalize_phone("13812345678", default_region="XX")


@pytest.mark.parametrize("text, reason_part", [
    ("", "empty"),
    ("   ", "empty"),
    ("call me", "not digits"),
    ("138-1234-567a", "not digits"),
    ("12345678", "without area code"),
    ("1381234567", "11 digits"),
    ("138123456789", "Chinese"),
    ("010-1234", "7 or 8 digit"),
    ("0755-0888888", "7 or 8 digit"),
    ("010-12345678 转 8001", "extension"),
    ("010-12345678 ext. 12", "extension"),
    ("+0 123 456 789", "country code"),
    ("00", "country code"),
    ("+86 123 4567 8901", "Chinese mobile"),
    ("+1 415 555 267", "+1"),
    ("+4912345678901234", "at most 15"),
    ("+49 1234", "only"),
    ("13812345678/13912345678", "not digits"),
])
def test_garbage_is_refused_with_a_reason(text, reason_part):
    with pytest.raises(InvalidContact) as info:
        normalize_phone(text)
    assert info.value.field == "phone"
    assert reason_part in info.value.reason
    assert isinstance(info.value, ValueError)


def test_non_text_is_refused():
    with pytest.raises(InvalidContact):
        normalize_phone(13812345678)


@pytest.mark.parametrize("text, region, number_type", [
    ("138 1234 5678", "CN", "mobile"),
    ("010-6552 9988", "CN", "fixed_line"),
    ("400-810-8888", "CN", "shared_cost"),
    ("800 820 8820", "CN", "toll_free"),
    ("+852 2345 6789", "HK", "fixed_line"),
    ("+852 9123 4567", "HK", "mobile"),
    ("+1 (415) 555-2671", "US", "fixed_line_or_mobile"),
    ("+44 7400 123456", "GB", "mobile"),
    ("+81 3-1234-5678", "JP", "fixed_line"),
    ("+7 912 345-67-89", "RU", "mobile"),
    ("+61 2 9876 5432", "AU", "fixed_line"),
])
def test_every_country_with_region_and_number_type(text, region, number_type):
    info = describe_phone(text)
    assert info == PhoneInfo(normalize_phone(text), region, number_type)


@pytest.mark.parametrize("text, expected", [
    ("0571-8765432", "+865718765432"),     # Hangzhou numbers have 8 digits today; older records 7
    ("0471-51234567", "+8647151234567"),   # and the other way round
])
def test_chinese_landlines_of_the_other_local_length(text, expected):
    assert normalize_phone(text) == expected
    assert describe_phone(text).region == "CN"


@pytest.mark.parametrize("text, region, expected", [
    ("2345 6789", "HK", "+85223456789"),
    ("03-1234-5678", "JP", "+81312345678"),
    ("030 901820", "DE", "+4930901820"),
    ("06 12 34 56 78", "FR", "+33612345678"),
    ("0412 345 678", "AU", "+61412345678"),
])
def test_national_forms_of_any_region(text, region, expected):
    assert normalize_phone(text, default_region=region) == expected


def test_numbers_outside_every_numbering_plan_are_refused():
    for text in ("+1 212 055 1234", "+852 0000 0000", "+81 3 0000 0000", "+86 199 0000"):
        with pytest.raises(InvalidContact):
            normalize_phone(text)


def test_phone_search_key():
    assert phone_search_key("138 1234 5678") == phone_search_key("+86 138-1234-5678") == "+8613812345678"
    assert phone_search_key("张伟") is None
    assert phone_search_key("1234") is None
    assert phone_search_key(None) is None


@pytest.mark.parametrize("text, expected", [
    ("  John.Doe@Example.COM ", "john.doe@example.com"),
    ("ZHANG.Wei+crm@QQ.com", "zhang.wei+crm@qq.com"),
    ("zhangwei＠１６３．ｃｏｍ", "zhangwei@163.com"),
    ("zhangwei@163。com", "zhangwei@163.com"),
    ("mailto:Sales@Acme.cn", "sales@acme.cn"),
    ("<sales@acme.cn>", "sales@acme.cn"),
    ("info@example.com.", "info@example.com"),
    ("用户@例子.中国", "用户@例子.中国"),
    ("用户@xn--fsqu00a.xn--fiqs8s", "用户@例子.中国"),
    ("a@XN--MNCHEN-3YA.DE", "a@münchen.de"),
    ("o'brien@example.ie", "o'brien@example.ie"),
])
def test_email_normalization(text, expected):
    assert normalize_email(text) == expected
    assert normalize_email(expected) == expected


def test_email_ascii_domain_for_mail_servers():
    assert email_ascii_domain("用户@例子.中国") == "用户@xn--fsqu00a.xn--fiqs8s"
    assert email_ascii_domain("a@München.de") == "a@xn--mnchen-3ya.de"


@pytest.mark.parametrize("text, reason_part", [
    ("", "empty"),
    ("plainaddress", "exactly one @"),
    ("a@b@c.com", "exactly one @"),
    ("john doe@example.com", "whitespace"),
    ("@example.com", "before the @"),
    (".john@example.com", "dot"),
    ("john..doe@example.com", "dot"),
    ("john.@example.com", "dot"),
    ("jo(hn)@example.com", "not allowed"),
    ('"john"@example.com', "not allowed"),
    ("john@localhost", "at least one dot"),
    ("john@-example.com", "not a valid name"),
    ("john@exa_mple.com", "not a valid name"),
    ("john@example..com", "valid"),
    ("john@example.123", "numeric"),
    ("x" * 65 + "@example.com", "64"),
    ("john@" + "a" * 64 + ".com", "valid"),
])
def test_bad_emails_are_refused_with_a_reason(text, reason_part):
    with pytest.raises(InvalidContact) as info:
        normalize_email(text)
    assert info.value.field == "email"
    assert reason_part in info.value.reason


def test_overlong_email_is_refused():
    domain = ".".join(["a" * 60] * 4) + ".cn"  # 247 characters: a valid domain
    assert normalize_email("x@" + domain).endswith(domain)
    with pytest.raises(InvalidContact, match="254"):
        normalize_email("x" * 10 + "@" + domain)
    with pytest.raises(InvalidContact, match="must be text"):
        normalize_email(None)
