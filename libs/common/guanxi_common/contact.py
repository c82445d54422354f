"""Phone numbers and e-mail addresses in one canonical form.

Why: the "no duplicates" rule and the phone/e-mail search only work when
"138 1234 5678", "+86-138-1234-5678" and "００８６１３８１２３４５６７８" are the same
string.  Phones become E.164 ("+8613812345678").  Parsing, validity and the number type
come from ``phonenumbers`` (Google's libphonenumber metadata, every country); what stays
here is the input hygiene a CRM in China meets (full-width digits, "tel:", separators
anywhere, "(+86)", "00" as the international prefix, extensions refused) and refusals
worded for a Chinese sales rep.  National numbers are read in ``default_region`` (CN).

One leniency on top of libphonenumber: its metadata gives each Chinese area code one
local-number length (7 or 8 digits), while customer records carry numbers from before a
city moved to 8 digits, and numbers of the other length.  A Chinese number written with
its area code is accepted as a fixed line when the same area code with a local number
one digit longer or shorter is a valid fixed line.
"""

import encodings.idna
import re
import unicodedata
from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

E164_MAX_DIGITS = 15
E164_MIN_DIGITS = 7  # the shortest numbers in use (e.g. +683 4002) have 7 digits
SUPPORTED_REGIONS = frozenset(phonenumbers.SUPPORTED_REGIONS)

_EXTENSION = re.compile(r"(ext|转|分机|#|;|,)", re.IGNORECASE)
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—.()]+")
_PHONE_TYPES = {value: name.lower() for name, value in vars(PhoneNumberType).items() if name.isupper()}


class InvalidContact(ValueError):
    """A phone or e-mail that cannot be normalised; ``field`` is "phone" or "email"."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class PhoneInfo:
    """What libphonenumber knows about a normalised number."""

    e164: str
    region: str | None  # ISO 3166 code of the country or territory ("CN", "HK", ...)
    type: str           # "mobile", "fixed_line", "toll_free", "shared_cost", "voip", ...


def normalize_phone(text, default_region: str = "CN") -> str:
    """Any written form of a phone number -> E.164, or ``InvalidContact``."""
    return phonenumbers.format_number(parse_phone(text, default_region), PhoneNumberFormat.E164)


def describe_phone(text, default_region: str = "CN") -> PhoneInfo:
    """The E.164 form of a phone with its region and number type."""
    number = parse_phone(text, default_region)
    return PhoneInfo(phonenumbers.format_number(number, PhoneNumberFormat.E164),
                     phonenumbers.region_code_for_number(number),
                     _PHONE_TYPES.get(phonenumbers.number_type(number), "unknown"))


def phone_search_key(text) -> str | None:
    """The E.164 form to look a phone up by, or None when ``text`` cannot be one."""
    try:
        return normalize_phone(text)
    except InvalidContact:
        return None


def parse_phone(text, default_region: str = "CN") -> phonenumbers.PhoneNumber:
    """A valid ``phonenumbers.PhoneNumber`` for any written form, or ``InvalidContact``."""
    if default_region not in SUPPORTED_REGIONS:
        raise ValueError(f"unsupported default region {default_region!r}")
    digits, international = _phone_digits(text)
    if not international and digits.startswith("00"):
        digits, international = digits[2:], True
    if international and (not digits or digits[0] == "0"):
        raise InvalidContact("phone", "country code missing after + or 00")
    try:
        number = phonenumbers.parse("+" + digits if international else digits, default_region)
    except NumberParseException as exc:
        raise InvalidContact("phone", _parse_failure(exc)) from None
    _check_length(number)
    if phonenumbers.is_valid_number(number) or _other_length_landline(number, digits, international):
        return number
    if number.country_code == 86:
        raise InvalidContact("phone", _chinese_refusal(digits, international))
    raise InvalidContact("phone", f"is not a valid number for country code +{number.country_code}")


def _phone_digits(text) -> tuple[str, bool]:
    """The digits of a written number and whether it was written with a leading +."""
    if not isinstance(text, str):
        raise InvalidContact("phone", "must be text")
    cleaned = unicodedata.normalize("NFKC", text).strip()
    if cleaned[:4].lower() == "tel:":
        cleaned = cleaned[4:].strip()
    if not cleaned:
        raise InvalidContact("phone", "is empty")
    if _EXTENSION.search(cleaned):
        raise InvalidContact("phone", "contains an extension; store the extension separately")
    body = _SEPARATORS.sub("", cleaned)  # "(+86) 155 …" has its + after a parenthesis
    international = body.startswith("+")
    body = body[1:] if international else body
    if not body.isascii() or not body.isdigit():
        odd = sorted({ch for ch in body if not (ch.isascii() and ch.isdigit())})
        raise InvalidContact("phone", f"contains characters that are not digits: {''.join(odd)!r}")
    if len(body) > E164_MAX_DIGITS + 2:  # room for a 00 prefix
        raise InvalidContact("phone", f"has {len(body)} digits, more than any phone number")
    return body, international


def _parse_failure(exc: NumberParseException) -> str:
    if exc.error_type == NumberParseException.INVALID_COUNTRY_CODE:
        return "country code missing or unknown"
    if exc.error_type == NumberParseException.TOO_LONG:
        return f"is longer than E.164 allows ({E164_MAX_DIGITS} digits)"
    return "is too short to be a phone number"


def _check_length(number: phonenumbers.PhoneNumber) -> None:
    digits = len(str(number.country_code)) + len(phonenumbers.national_significant_number(number))
    if digits > E164_MAX_DIGITS:
        raise InvalidContact("phone", f"has {digits} digits; E.164 allows at most {E164_MAX_DIGITS}")
    if digits < E164_MIN_DIGITS:
        raise InvalidContact("phone", f"has only {digits} digits including the country code")


def _other_length_landline(number, digits: str, international: bool) -> bool:
    """A Chinese fixed line whose local number has the length this area had before (or
    will have): the same area code with one digit more or less is a valid fixed line."""
    written_with_area_code = international or digits.startswith("0")
    if number.country_code != 86 or not written_with_area_code:
        return False
    nsn = phonenumbers.national_significant_number(number)
    for variant in (nsn + "0", nsn[:-1]):
        neighbour = phonenumbers.PhoneNumber(country_code=86, national_number=int(variant))
        if (phonenumbers.is_valid_number(neighbour)
                and phonenumbers.number_type(neighbour) == PhoneNumberType.FIXED_LINE
                and nsn[_area_code_length(nsn)] not in "01"):
            return True
    return False


def _area_code_length(nsn: str) -> int:
    """Chinese area codes: 10 and 2x have two digits, all others three."""
    return 2 if nsn.startswith(("10", "2")) else 3


def _chinese_refusal(digits: str, international: bool) -> str:
    """Why a number read as Chinese is not one, in the terms a rep writes numbers in."""
    if not international and not digits.startswith(("0", "86")):
        if len(digits) in (7, 8):
            return "landline number without area code (write e.g. 010-12345678)"
        if digits.startswith("1"):
            return "a Chinese mobile number has 11 digits starting 13-19"
        return "is not a Chinese mobile, landline with area code or 400/800 number"
    nsn = digits[2:] if international or digits.startswith("86") else digits[1:]
    nsn = nsn[1:] if nsn.startswith("0") else nsn  # "+86 (0)755 …"
    if nsn.startswith("1") and not nsn.startswith("10"):
        return "is neither a Chinese mobile (1[3-9] + 9 digits) nor a landline with area code"
    area = nsn[:_area_code_length(nsn)]
    return f"area code 0{area} must be followed by a valid 7 or 8 digit number"


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
