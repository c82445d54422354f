"""Name normalisation, similarity and the search tokens of a name.

Why: duplicates hide behind legal-form variants ("有限公司" vs "股份有限公司",
"Co., Ltd." vs "Limited"), full-width characters, stray spaces and the script
(李小龍 is 李小龙), and a name search must find "张伟" inside "北京张伟贸易" among a
million customers, also when typed in pinyin ("zhang wei", "zw").  Everything here is
deterministic text processing so that the database can store its results.

Script: every comparison form below (``normalize_company_name``,
``normalize_person_name``, ``search_normalize``) folds traditional characters to
simplified with OpenCC's ``t2s`` tables, one character at a time (``fold_script``).
Per character rather than per phrase so that folding commutes with taking a fragment:
OpenCC keeps 乾隆 but turns a lone 乾 into 干, and a fragment must fold as it does
inside the name.  The folded form is a key, never shown.

Company names (``normalize_company_name``):
  * NFKC (full width -> half width), casefold, every character that is not a letter
    or digit is a separator, and "&" counts as the word "and";
  * Latin legal forms are dropped from the end, repeatedly ("gmbh & co kg", "pte ltd"),
    as are a leading "the" and a trailing "and";
  * the words are joined without spaces (Chinese does not use them) and Chinese legal
    forms are dropped from the end, repeatedly (``CJK_LEGAL_SUFFIXES``);
  * 集团 and 控股 are kept: "X集团有限公司" is the holding, "X有限公司" an operating
    company, and telling them apart is the point of the group tree;
  * region words are kept: 上海华为 and 深圳华为 are different legal entities;
  * a branch (名称以 分公司/分行/支行/办事处… 结尾) keeps its branch part, and the
    legal form of its parent is dropped: "华为技术有限公司上海分公司" ->
    "华为技术上海分公司", so branches of the same parent match each other's spelling
    but never the parent itself;
  * a name that would become empty is kept as it was after punctuation removal.

Search tokens (``search_tokens`` / ``query_tokens``): over ``search_normalize(text)``
(NFKC, casefold, accents dropped, only letters and digits kept — spaces too, so "张 伟"
is "张伟"), a name is indexed by every character bigram, every trigram made only of
non-CJK characters, and the character of each one-character CJK run (so a one-character
name has a token).  A query of two or more characters is looked up by its trigrams of
non-CJK characters and its bigrams that contain a CJK character, or by its single
bigram when it is two non-CJK characters.  Every such query token is an n-gram of the
query of a kind the index holds, so when the normalised query is a substring of the
normalised name all of them are in the name's tokens: the index never loses a match,
and the caller re-checks with ``name_matches``.  A name of n characters has at most
2n tokens.  One-character queries get no tokens (an empty set means "the index cannot
narrow this down").

Pinyin (``reading_keys`` / ``reading_query_key``, readings from pypinyin): a name with
Chinese characters is also indexed under keys ``~<letters>`` ("~" never occurs in an
n-gram): its full reading ("~zhangwei") and its initials ("~zw"), and for a person the
reading of the surname alone ("~zhang"); a company by the reading of its comparable core
(``normalize_company_name``: legal forms dropped), so 鼎盛实业有限公司 is "dingshengshiye"
and "dssy".  A query of letters only (spaces, apostrophes and tone marks ignored, ü
typed as v or ü) is looked up by one key, "~" + its letters: an equality lookup on the
same posting lists, so a pinyin query costs what an n-gram lookup costs.  The reading is
pypinyin's in context (its phrase dictionary picks the reading of a character in a word);
a person's first character is indexed under each of its readings as well, because
surnames are where the everyday reading misleads (曾 zeng/ceng, 单 shan/dan, 解
xie/jie, 仇 qiu/chou), at most ``MAX_READINGS`` readings per name.  Readings of other
characters are the context one only.  ü is written v, as pinyin keyboards do (吕 "lv").
"""

import difflib
import functools
import re
import unicodedata

import opencc
from pypinyin import Style, lazy_pinyin, pinyin

CJK_LEGAL_SUFFIXES = (
    "特殊普通合伙", "股份有限公司", "有限责任公司", "个人独资企业",
    "有限公司", "股份公司", "有限合伙", "普通合伙", "合伙企业", "公司",
)
BRANCH_MARKERS = ("分公司", "分厂", "分店", "分行", "支行", "办事处", "代表处", "营业部")
_CJK_FORMS_IN_BRANCH = ("股份有限公司", "有限责任公司", "有限公司", "股份公司", "公司")
LATIN_LEGAL_WORDS = frozenset(
    "co company ltd limited inc incorporated corp corporation llc llp lp plc "
    "gmbh mbh ag kg ug sa sas sarl srl spa bv nv oy ab pte pty pvt private kk".split()
)
_NON_WORD = re.compile(r"[^\w]+|_+")
_MIDDLE_DOTS = str.maketrans({"・": "·", "•": "·", "‧": "·", "･": "·", "∙": "·"})
_CJK_RANGES = (
    (0x2E80, 0x2FDF), (0x3040, 0x30FF), (0x3100, 0x31BF), (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF), (0xAC00, 0xD7AF), (0xF900, 0xFAFF), (0x20000, 0x3FFFF),
)


def is_cjk(ch: str) -> bool:
    """Chinese, Japanese kana or Korean hangul: scripts written without spaces."""
    code = ord(ch)
    return any(lo <= code <= hi for lo, hi in _CJK_RANGES)


# --- script ------------------------------------------------------------------------------

_TRADITIONAL_TO_SIMPLIFIED = opencc.OpenCC("t2s")


class _SimplifiedForms(dict):
    """A ``str.translate`` table: code point -> its simplified character, on first sight."""

    def __missing__(self, code):
        ch = chr(code)
        folded = _TRADITIONAL_TO_SIMPLIFIED.convert(ch) if is_cjk(ch) else ch
        folded = folded if len(folded) == 1 else ch
        self[code] = folded
        return folded


_SIMPLIFIED_FORMS = _SimplifiedForms()


def fold_script(text: str) -> str:
    """Traditional Chinese characters -> simplified, character by character (李小龍 -> 李小龙)."""
    return text.translate(_SIMPLIFIED_FORMS)


# --- company and person names ------------------------------------------------------


def normalize_company_name(name) -> str:
    """The comparable core of a company name (see the module docstring)."""
    if not name:
        return ""
    text = fold_script(unicodedata.normalize("NFKC", str(name)).casefold().replace("&", " and "))
    words = [w for w in _NON_WORD.split(text) if w]
    fallback = "".join(words)
    if words and words[0] == "the" and len(words) > 1:
        words = words[1:]
    while len(words) > 1 and (words[-1] in LATIN_LEGAL_WORDS or words[-1] == "and"):
        words.pop()
    return _strip_cjk_legal_form("".join(words)) or fallback


def _strip_cjk_legal_form(text: str) -> str:
    for marker in BRANCH_MARKERS:
        if text.endswith(marker) and len(text) > len(marker):
            return _branch_core(text[: -len(marker)]) + marker
    return _strip_suffixes(text)


def _branch_core(head: str) -> str:
    """"华为技术有限公司上海" -> "华为技术上海": drop the parent's legal form."""
    best = None  # (end, length, start) of the last, longest legal form
    for form in _CJK_FORMS_IN_BRANCH:
        start = head.rfind(form)
        if start > 0:
            candidate = (start + len(form), len(form), start)
            best = max(best, candidate) if best else candidate
    if best is None:
        return head
    end, _, start = best
    return _strip_suffixes(head[:start]) + head[end:]


def _strip_suffixes(text: str) -> str:
    while True:
        suffix = next((s for s in CJK_LEGAL_SUFFIXES if text.endswith(s)), None)
        if suffix is None or len(text) == len(suffix):
            return text
        text = text[: -len(suffix)]


def normalize_person_name(name) -> str:
    """NFKC, casefold, simplified script, single spaces between Latin words, none next to
    CJK ("张 伟" == "張偉")."""
    if not name:
        return ""
    text = fold_script(unicodedata.normalize("NFKC", str(name)).translate(_MIDDLE_DOTS).casefold())
    words = text.split()
    out = ""
    for word in words:
        if out and not (is_cjk(out[-1]) or is_cjk(word[0]) or out[-1] == "·" or word[0] == "·"):
            out += " "
        out += word
    return out


def name_similarity(a, b) -> float:
    """0..1 similarity of two names (difflib ratio over letters and digits, casefolded).

    Pass names through the matching ``normalize_*`` function first to ignore legal forms.
    """
    left, right = _compact(a), _compact(b)
    if not left or not right:
        return 0.0
    if left == right:
        return 1.0
    return difflib.SequenceMatcher(None, left, right, autojunk=False).ratio()


def _compact(text) -> str:
    text = fold_script(unicodedata.normalize("NFKC", str(text or "")).casefold())
    return "".join(ch for ch in text if ch.isalnum())


# --- search ----------------------------------------------------------------------------


def search_normalize(text) -> str:
    """Letters and digits only, casefolded, without accents, in simplified script: the
    text searches compare."""
    text = unicodedata.normalize("NFKC", str(text or "")).casefold()
    text = "".join(ch for ch in unicodedata.normalize("NFD", text) if unicodedata.category(ch) != "Mn")
    return fold_script("".join(ch for ch in unicodedata.normalize("NFC", text) if ch.isalnum()))


def search_tokens(text) -> set[str]:
    """The inverted-index tokens of a name (at most 2 per character)."""
    norm = search_normalize(text)
    tokens = {norm[i:i + 2] for i in range(len(norm) - 1)}
    tokens.update(gram for gram in _trigrams(norm) if not any(map(is_cjk, gram)))
    for i, ch in enumerate(norm):
        alone = (i == 0 or not is_cjk(norm[i - 1])) and (i == len(norm) - 1 or not is_cjk(norm[i + 1]))
        if (is_cjk(ch) and alone) or len(norm) == 1:
            tokens.add(ch)
    return tokens


def query_tokens(query) -> set[str]:
    """Tokens that every name containing ``query`` has; empty for one-character queries."""
    norm = search_normalize(query)
    if len(norm) < 2:
        return set()
    tokens = {gram for gram in _trigrams(norm) if not any(map(is_cjk, gram))}
    tokens.update(norm[i:i + 2] for i in range(len(norm) - 1) if any(map(is_cjk, norm[i:i + 2])))
    return tokens or {norm}  # two non-CJK characters: their bigram


def name_matches(query, name) -> bool:
    """The exact re-check after the token prefilter: normalised substring."""
    norm = search_normalize(query)
    return bool(norm) and norm in search_normalize(name)


def _trigrams(text: str):
    return (text[i:i + 3] for i in range(len(text) - 2))


# --- pinyin ------------------------------------------------------------------------------

READING_KEY_PREFIX = "~"
#: Readings indexed per name (the context one plus other readings of the first character).
MAX_READINGS = 4
#: Keys longer than this are not stored (the name index column holds 64 characters).
MAX_KEY_LENGTH = 64


def is_han(ch: str) -> bool:
    """A Chinese character (the CJK ranges without kana and hangul)."""
    return is_cjk(ch) and not ("\u3040" <= ch <= "\u31bf" or "\uac00" <= ch <= "\ud7af")


def readings(party_type: str, name) -> list[list[str]]:
    """The pinyin readings of a name's comparable form, as syllable lists, context reading
    first; empty when the name has no Chinese character (its letters are searched as they
    are).  Latin words and digits inside the name stay as they are."""
    text = normalize_company_name(name) if party_type == "company" else search_normalize(name)
    return [list(r) for r in _readings(party_type, text)]


@functools.lru_cache(maxsize=100_000)
def _readings(party_type: str, text: str) -> tuple[tuple[str, ...], ...]:
    if not any(map(is_han, text)):
        return ()
    context = tuple(lazy_pinyin(text, style=Style.NORMAL, errors="default"))
    found = [context]
    if party_type == "person" and is_han(text[0]):
        for reading in pinyin(text[0], style=Style.NORMAL, heteronym=True)[0]:
            variant = (reading,) + context[1:]
            if variant not in found and len(found) < MAX_READINGS:
                found.append(variant)
    return tuple(found)


def reading_keys(party_type: str, name) -> set[str]:
    """The pinyin keys of a name in the name index (see the module docstring)."""
    keys = set()
    for syllables in readings(party_type, name):
        keys.add("".join(syllables))
        keys.add("".join(s[0] for s in syllables))
        if party_type == "person":
            keys.add(syllables[0])
    return {READING_KEY_PREFIX + k for k in keys if 2 <= len(k) < MAX_KEY_LENGTH}


def reading_query_key(query) -> str | None:
    """The key a query typed in pinyin looks up, or None when it is not letters a-z only
    ("Zhang Wei", "zhāng wěi", "zhangwei" -> "~zhangwei"; "ZW" -> "~zw"; "lü" -> "~lv")."""
    text = unicodedata.normalize("NFKC", str(query or "")).casefold().replace("ü", "v")
    letters = search_normalize(text)
    if 2 <= len(letters) < MAX_KEY_LENGTH and letters.isascii() and letters.isalpha():
        return READING_KEY_PREFIX + letters
    return None


def index_tokens(party_type: str, name) -> set[str]:
    """Everything the name index holds for a customer: n-grams and pinyin keys."""
    return search_tokens(name) | reading_keys(party_type, name)
