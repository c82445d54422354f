"""Phone numbers and e-mail addresses in one canonical form.

Why: the "no duplicates" rule and the phone/e-mail search only work when
"138 1234 5678", "+86-138-1234-5678" and "００８６１３８１２３４５６７８" are the same
string.  Phones become E.164 ("+8613812345678"); Chinese mobiles, landlines with area
code and 400/800 numbers are understood without a country code, other numbers need
"+" or "00" (or a supported ``default_region``).  No external phone library: the rules
below are the ones a CRM in China meets, plus the generic E.164 limits.
"""

import encodings.idna
import re
import unicodedata
from dataclasses import dataclass

E164_MAX_DIGITS = 15
E164_MIN_DIGITS = 7  # the shortest numbers in use (e.g. +683 4002) have 7 digits

_EXTENSION = re.compile(r"(ext|转|分机|#|;|,)", re.IGNORECASE)
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—.()]+")
_CN_MOBILE = re.compile(r"1[3-9]\d{9}")
_CN_SERVICE = re.compile(r"[48]00\d{7}")  # 400 / 800 numbers
_CN_SUBSCRIBER = re.compile(r"[1-9]\d{6,7}")


class InvalidContact(ValueError):
    """A phone or e-mail that cannot be normalised; ``field`` is "phone" or "email"."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class NumberingPlan:
    """A country's national significant number (NSN) rule, enough to validate it."""

    country_code: str
    trunk_prefix: str
    nsn_pattern: str


# Regions whose national format is understood besides CN (which has its own rules).
NUMBERING_PLANS = {
    "HK": NumberingPlan("852", "", r"[2-9]\d{7}"),
    "MO": NumberingPlan("853", "", r"[2-9]\d{7}"),
    "TW": NumberingPlan("886", "0", r"[2-9]\d{7,8}"),
    "SG": NumberingPlan("65", "", r"[3689]\d{7}"),
    "US": NumberingPlan("1", "1", r"[2-9]\d{2}[2-9]\d{6}"),
    "CA": NumberingPlan("1", "1", r"[2-9]\d{2}[2-9]\d{6}"),
    "GB": NumberingPlan("44", "0", r"[1-9]\d{8,9}"),
}
SUPPORTED_REGIONS = frozenset({"CN", *NUMBERING_PLANS})
_PLANS_BY_CODE = {plan.country_code: plan for plan in NUMBERING_PLANS.values()}


def normalize_phone(text, default_region: str = "CN") -> str:
    """Any written form of a phone number -> E.164, or ``InvalidContact``."""
    if default_region not in SUPPORTED_REGIONS:
        raise ValueError(f"unsupported default region {default_region!r}")
    digits, international = _phone_digits(text)
    if international:
        return _international(digits)
    if digits.startswith("00"):
        return _international(digits[2:])
    if default_region == "CN":
        return _cn_national(digits)
    plan = NUMBERING_PLANS[default_region]
    return "+" + plan.country_code + _nsn(plan, digits)


def phone_search_key(text) -> str | None:
    """The E.164 form to look a phone up by, or None when ``text`` cannot be one."""
    try:
        return normalize_phone(text)
    except InvalidContact:
        return None


def _phone_digits(text) -> tuple[str, bool]:
    if not isinstance(text, str):
        raise InvalidContact("phone", "must be text")
    cleaned = unicodedata.normalize("NFKC", text).strip()
    if cleaned[:4].lower() == "tel:":
        cleaned = cleaned[4:].strip()
    if not cleaned:
        raise InvalidContact("phone", "is empty")
    if _EXTENSION.search(cleaned):
        raise InvalidContact("phone", "contains an extension; store the extension separately")
    international = cleaned.startswith("+")
    body = _SEPARATORS.sub("", cleaned[1:] if international else cleaned)
    if not body.isascii() or not body.isdigit():
        odd = sorted({ch for ch in body if not (ch.isascii() and ch.isdigit())})
        raise InvalidContact("phone", f"contains characters that are not digits: {''.join(odd)!r}")
    if len(body) > E164_MAX_DIGITS + 2:  # room for a 00 prefix
        raise InvalidContact("phone", f"has {len(body)} digits, more than any phone number")
    return body, international


def _international(digits: str) -> str:
    if not digits or digits[0] == "0":
        raise InvalidContact("phone", "country code missing after + or 00")
    if digits.startswith("86"):
        return "+86" + _cn_nsn(digits[2:])
    for length in (1, 2, 3):
        plan = _PLANS_BY_CODE.get(digits[:length])
        if plan is not None:
            return "+" + plan.country_code + _nsn(plan, digits[length:])
    return "+" + _checked_length(digits)


def _nsn(plan: NumberingPlan, nsn: str) -> str:
    if not re.fullmatch(plan.nsn_pattern, nsn) and plan.trunk_prefix and nsn.startswith(plan.trunk_prefix):
        nsn = nsn[len(plan.trunk_prefix):]
    if not re.fullmatch(plan.nsn_pattern, nsn):
        raise InvalidContact("phone", f"is not a valid number for country code +{plan.country_code}")
    return _checked_length(plan.country_code + nsn)[len(plan.country_code):]


def _checked_length(e164_digits: str) -> str:
    if len(e164_digits) > E164_MAX_DIGITS:
        raise InvalidContact("phone", f"has {len(e164_digits)} digits; E.164 allows at most {E164_MAX_DIGITS}")
    if len(e164_digits) < E164_MIN_DIGITS:
        raise InvalidContact("phone", f"has only {len(e164_digits)} digits including the country code")
    return e164_digits


def _cn_national(digits: str) -> str:
    """A number written without + or 00, read as Chinese."""
    if len(digits) == 13 and digits.startswith("86") and _CN_MOBILE.fullmatch(digits[2:]):
        return "+" + digits  # "86 138 1234 5678": country code without +
    if digits.startswith("0"):
        return "+86" + _cn_nsn(digits[1:])
    if _CN_MOBILE.fullmatch(digits) or _CN_SERVICE.fullmatch(digits):
        return "+86" + digits
    if _CN_SUBSCRIBER.fullmatch(digits):
        raise InvalidContact("phone", "landline number without area code (write e.g. 010-12345678)")
    if digits.startswith("1"):
        raise InvalidContact("phone", "a Chinese mobile number has 11 digits starting 13-19")
    raise InvalidContact("phone", "is not a Chinese mobile, landline with area code or 400/800 number")


def _cn_nsn(nsn: str) -> str:
    """The Chinese national significant number (after +86 or the trunk 0)."""
    if nsn.startswith("0"):
        nsn = nsn[1:]  # "+86 (0)755 …": a trunk zero written after the country code
    if _CN_MOBILE.fullmatch(nsn) or _CN_SERVICE.fullmatch(nsn):
        return nsn
    if nsn.startswith(("10", "2")):
        area, subscriber = nsn[:2], nsn[2:]
    elif nsn[:1] in set("3456789"):
        area, subscriber = nsn[:3], nsn[3:]
    else:
        raise InvalidContact("phone", "is neither a Chinese mobile (1[3-9] + 9 digits) nor a landline with area code")
    if not _CN_SUBSCRIBER.fullmatch(subscriber):
        raise InvalidContact("phone", f"area code 0{area} must be followed by a 7 or 8 digit number")
    return nsn


# --- e-mail ---------------------------------------------------------------------------

# RFC 5322 "atext" plus the dot; non-ASCII letters and digits are allowed too (RFC 6531).
_ATEXT = frozenset("abcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+/=?^_`{|}~-.")
_LABEL = re.compile(r"[a-z0-9]([a-z0-9\-]{0,61}[a-z0-9])?")
_DOTS = str.maketrans({"。": ".", "｡": ".", "．": "."})


def normalize_email(text) -> str:
    """Trimmed, lower-cased ``local@domain`` with an internationalised domain in Unicode.

    The stored form uses the Unicode (U-label) domain so that "用户@例子.中国" and
    "用户@xn--fsqu00a.xn--fiqs8s" are one address; the domain is checked by converting
    it to ASCII (IDNA) and applying the DNS label rules.  Use ``email_ascii_domain`` to
    get the form a mail server needs.  Quoted local parts are refused.
    """
    if not isinstance(text, str):
        raise InvalidContact("email", "must be text")
    cleaned = unicodedata.normalize("NFKC", text).strip()
    if cleaned[:7].lower() == "mailto:":
        cleaned = cleaned[7:].strip()
    if cleaned.startswith("<") and cleaned.endswith(">"):
        cleaned = cleaned[1:-1].strip()
    if not cleaned:
        raise InvalidContact("email", "is empty")
    if any(ch.isspace() for ch in cleaned):
        raise InvalidContact("email", "contains whitespace")
    if cleaned.count("@") != 1:
        raise InvalidContact("email", "must contain exactly one @")
    local, domain = cleaned.split("@")
    local = _check_local(local.lower())
    ascii_labels = _ascii_labels(domain)
    address = local + "@" + ".".join(encodings.idna.ToUnicode(label) for label in ascii_labels)
    if len(local.encode()) + 1 + len(".".join(ascii_labels)) > 254:
        raise InvalidContact("email", "is longer than 254 characters")
    return address


def email_ascii_domain(email: str) -> str:
    """A normalised address with its domain in ASCII (punycode), for sending mail."""
    local, domain = normalize_email(email).split("@")
    return local + "@" + ".".join(_ascii_labels(domain))


def _check_local(local: str) -> str:
    if not local:
        raise InvalidContact("email", "has nothing before the @")
    if len(local.encode()) > 64:
        raise InvalidContact("email", "part before the @ is longer than 64 bytes")
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise InvalidContact("email", "part before the @ has a misplaced dot")
    bad = sorted({ch for ch in local if ch not in _ATEXT and (ch.isascii() or not ch.isalnum())})
    if bad:
        raise InvalidContact("email", f"part before the @ contains characters not allowed: {''.join(bad)!r}")
    return local


def _ascii_labels(domain: str) -> list[str]:
    domain = domain.translate(_DOTS).lower().rstrip(".")
    labels = domain.split(".")
    if len(labels) < 2:
        raise InvalidContact("email", "domain needs at least one dot (e.g. example.com)")
    ascii_labels = []
    for label in labels:
        try:
            ascii_label = encodings.idna.ToASCII(label).decode("ascii").lower()
        except UnicodeError:
            raise InvalidContact("email", f"domain label {label!r} is not a valid (internationalised) name") from None
        if not _LABEL.fullmatch(ascii_label):
            raise InvalidContact("email", f"domain label {label!r} is not a valid name")
        ascii_labels.append(ascii_label)
    if ascii_labels[-1].isdigit():
        raise InvalidContact("email", "top-level domain cannot be numeric")
    if len(".".join(ascii_labels)) > 253:
        raise InvalidContact("email", "domain is longer than 253 characters")
    return ascii_labels
