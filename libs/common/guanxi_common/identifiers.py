"""Customer numbers and the unified social credit code (统一社会信用代码): pure rules
shared by the customer service's domain and the wire contracts.

Why: both are identifiers people type, copy from PDFs and read over the phone.
Customer numbers must sort and look alike everywhere; credit codes decide whether two
companies are the same legal entity, so a typo must be caught by the GB 32100-2015
check character before it becomes a false "no duplicate".
"""

import re
import unicodedata

CUSTOMER_NUMBER_PREFIX = "C"
CUSTOMER_NUMBER_DIGITS = 8
_NUMBER_RE = re.compile(r"C(\d{8,})")
#: the canonical written form of an issued customer number (JSON Schema / OpenAPI pattern)
CUSTOMER_NUMBER_PATTERN = r"^C[0-9]{8,}$"

# GB 32100-2015 character set: digits and capitals without I, O, Z, S, V.
CREDIT_CODE_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_CODE_LENGTH = 18
# Weight of position i is 3**i mod 31.
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_VALUE = {ch: i for i, ch in enumerate(CREDIT_CODE_CHARSET)}
#: the shape of a normalised credit code (the check character is checked by
#: :func:`validate_credit_code`)
CREDIT_CODE_PATTERN = r"^[0-9A-HJ-NPQRTUW-Y]{18}$"

# First character: the registration authority (登记管理部门代码).
REGISTRATION_AUTHORITIES = {
    "1": "机构编制", "2": "外交", "3": "司法行政", "4": "文化", "5": "民政",
    "6": "旅游", "7": "宗教", "8": "工会", "9": "市场监管(工商)",
    "A": "中央军委改革和编制办公室", "N": "农业", "Y": "其他",
}
# Characters 3-8: GB/T 2260 region code; its first two digits name the province
# (10 = registered nationally, e.g. 100000).
PROVINCE_PREFIXES = frozenset(
    "10 11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 "
    "50 51 52 53 54 61 62 63 64 65 71 81 82".split()
)
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—_]+")


def format_customer_number(seq: int) -> str:
    """``1234`` -> ``"C00001234"``; more than 8 digits simply grow the number."""
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        raise ValueError(f"customer sequence must be a positive integer, got {seq!r}")
    return f"{CUSTOMER_NUMBER_PREFIX}{seq:0{CUSTOMER_NUMBER_DIGITS}d}"


def parse_customer_number(text) -> int | None:
    """The sequence inside a customer number, tolerating case, blanks and full width."""
    if not isinstance(text, str):
        return None
    cleaned = unicodedata.normalize("NFKC", text).strip().upper()
    match = _NUMBER_RE.fullmatch(cleaned)
    if match is None:
        return None
    digits = match.group(1)
    seq = int(digits)
    if seq < 1 or digits != f"{seq:0{CUSTOMER_NUMBER_DIGITS}d}":
        return None  # zero, or padded beyond the canonical width: not a number we issue
    return seq


def is_customer_number(text) -> bool:
    return parse_customer_number(text) is not None


def normalize_credit_code(text) -> str:
    """Full width to half width, upper case, no blanks or hyphens."""
    if text is None:
        return ""
    cleaned = unicodedata.normalize("NFKC", str(text))
    return _SEPARATORS.sub("", cleaned).upper()


def credit_code_check_char(first17: str) -> str:
    """The 18th character for the first 17 (which must use the credit code charset)."""
    if len(first17) != CREDIT_CODE_LENGTH - 1:
        raise ValueError("the check character is computed over exactly 17 characters")
    try:
        total = sum(_VALUE[ch] * w for ch, w in zip(first17, CREDIT_CODE_WEIGHTS))
    except KeyError as exc:
        raise ValueError(f"character {exc.args[0]!r} is not allowed in a credit code") from None
    return CREDIT_CODE_CHARSET[(31 - total % 31) % 31]


def make_credit_code(prefix17: str) -> str:
    """A valid code from 17 characters (for demo data and tests)."""
    prefix17 = normalize_credit_code(prefix17)
    return prefix17 + credit_code_check_char(prefix17)


def validate_credit_code(code) -> list[str]:
    """Why ``code`` is not a valid unified social credit code; empty when it is."""
    if not isinstance(code, str):
        return ["must be a string"]
    if len(code) != CREDIT_CODE_LENGTH:
        return [f"must be {CREDIT_CODE_LENGTH} characters, got {len(code)}"]
    bad = sorted({ch for ch in code if ch not in _VALUE})
    if bad:
        return [f"characters not allowed: {''.join(bad)} (I, O, Z, S, V and lower case are never used)"]
    reasons = []
    if code[0] not in REGISTRATION_AUTHORITIES:
        reasons.append(f"unknown registration authority code {code[0]!r}")
    region = code[2:8]
    if not region.isdigit():
        reasons.append(f"region code {region!r} must be 6 digits")
    elif region[:2] not in PROVINCE_PREFIXES:
        reasons.append(f"region code {region!r} names no province")
    expected = credit_code_check_char(code[:17])
    if code[17] != expected:
        reasons.append(f"check character is {code[17]!r}, expected {expected!r}")
    return reasons


def is_valid_credit_code(code) -> bool:
    return not validate_credit_code(code)
