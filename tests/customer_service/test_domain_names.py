import random

import pytest

from customer.domain.names import (
    MAX_READINGS,
    fold_script,
    index_tokens,
    name_matches,
    name_similarity,
    normalize_company_name,
    normalize_person_name,
    query_tokens,
    reading_keys,
    reading_query_key,
    readings,
    search_normalize,
    search_tokens,
)


@pytest.mark.parametrize("variants", [
    ["上海华为技术有限公司", "上海华为技术股份有限公司 ", "上海华为技术(有限公司)", "上海华为技术（有限公司）",
     "上海华为技术有限责任公司", "上海 华为 技术 有限公司", "上海华为技术公司"],
    ["Acme Trading Co., Ltd.", "ACME TRADING CO LTD", "Acme Trading Company Limited", "Acme Trading Inc.",
     "The Acme Trading Corporation", "ＡＣＭＥ　Ｔｒａｄｉｎｇ　Ｃｏ．，Ｌｔｄ．", "Acme-Trading LLC"],
    ["Müller Bau GmbH & Co. KG", "MÜLLER BAU GMBH", "Müller Bau AG"],
    ["Tan Brothers Pte. Ltd.", "TAN BROTHERS PTE LTD", "Tan Brothers Private Limited"],
    ["华为技术有限公司上海分公司", "华为技术股份有限公司上海分公司", "华为技术上海分公司"],
    ["某某律师事务所(特殊普通合伙)", "某某律师事务所"],
    ["红杉投资合伙企业(有限合伙)", "红杉投资"],
])
def test_company_name_variants_match(variants):
    normalized = {normalize_company_name(v) for v in variants}
    assert len(normalized) == 1, normalized


@pytest.mark.parametrize("left, right", [
    ("上海华为技术有限公司", "深圳华为技术有限公司"),       # region is part of the identity
    ("华为集团有限公司", "华为有限公司"),                   # the holding is not the operating company
    ("华为技术有限公司", "华为技术有限公司上海分公司"),      # a branch is not its parent
    ("华为技术有限公司上海分公司", "华为技术有限公司北京分公司"),
    ("Acme Trading Co., Ltd.", "Acme Tradings Co., Ltd."),
])
def test_different_companies_stay_different(left, right):
    assert normalize_company_name(left) != normalize_company_name(right)


def test_company_normalization_details():
    assert normalize_company_name("上海华为技术有限公司") == "上海华为技术"
    assert normalize_company_name("Acme Trading Co., Ltd.") == "acmetrading"
    assert normalize_company_name("华为技术有限公司上海分公司") == "华为技术上海分公司"
    assert normalize_company_name("华为投资控股有限公司") == "华为投资控股"
    assert normalize_company_name("Smith & Co.") == "smith"
    assert normalize_company_name("Johnson & Johnson") == normalize_company_name("Johnson and Johnson")
    # nothing but a legal form: kept rather than emptied
    assert normalize_company_name("有限公司") == "有限公司"
    assert normalize_company_name("Company Limited") == "company"
    assert normalize_company_name("") == "" and normalize_company_name(None) == ""


def test_company_normalization_is_idempotent():
    for name in ("上海华为技术股份有限公司", "Acme Trading Co., Ltd.", "华为技术有限公司上海分公司", "Big AG"):
        once = normalize_company_name(name)
        assert normalize_company_name(once) == once


@pytest.mark.parametrize("left, right", [
    ("张 伟", "张伟"),
    ("张伟 ", "　张伟"),
    ("ＺＨＡＮＧ　Ｗｅｉ", "zhang wei"),
    ("John   SMITH", "john smith"),
    ("阿卜杜勒・克里木", "阿卜杜勒 · 克里木"),
])
def test_person_names(left, right):
    assert normalize_person_name(left) == normalize_person_name(right)


def test_person_name_keeps_latin_word_boundaries():
    assert normalize_person_name("  John   SMITH ") == "john smith"
    assert normalize_person_name("Li Na") != normalize_person_name("Lina")
    assert normalize_person_name("张 伟") == "张伟"
    assert normalize_person_name(None) == ""


def test_name_similarity():
    assert name_similarity("张伟", "张伟") == 1.0
    assert name_similarity("acmetrading", "acmetradng") > 0.9
    assert name_similarity("jon smith", "john smith") > 0.85
    assert name_similarity("张伟", "张玮") == 0.5
    assert name_similarity("华为", "腾讯") == 0.0
    assert name_similarity("", "") == 0.0
    assert name_similarity("ABC", "abc") == 1.0
    assert name_similarity("a", "b") == name_similarity("b", "a")


def test_search_normalize():
    assert search_normalize("  Acme  Trading, Co. ") == "acmetradingco"
    assert search_normalize("张 伟") == "张伟"
    assert search_normalize("Müller") == "muller"
    assert search_normalize("ＡＣＭＥ") == "acme"


def test_search_tokens_of_names():
    assert search_tokens("北京张伟贸易") == {"北京", "京张", "张伟", "伟贸", "贸易"}
    assert search_tokens("Acme") == {"ac", "cm", "me", "acm", "cme"}
    assert search_tokens("鑫") == {"鑫"}
    assert "中" in search_tokens("IBM 中 Co")
    assert search_tokens("") == set()


def test_query_tokens():
    assert query_tokens("张伟") == {"张伟"}
    assert query_tokens("acm") == {"acm"}
    assert query_tokens("ACME") == {"acm", "cme"}
    assert query_tokens("ac") == {"ac"}
    assert query_tokens("Ac张") == {"c张"}
    assert query_tokens("张") == set()
    assert query_tokens(" ") == set()


def test_token_count_is_linear():
    name = "国际商业机器中国有限公司 International Business Machines China Co Ltd"
    assert len(search_tokens(name)) <= 2 * len(search_normalize(name))


def test_name_matches_is_the_exact_recheck():
    assert name_matches("张伟", "北京张 伟贸易有限公司")
    assert name_matches("acme tr", "ACME Trading")
    assert not name_matches("张玮", "北京张伟贸易")
    assert not name_matches("", "anything")


ALPHABETS = [
    "张伟王芳李娜刘洋陈静杨磊黄敏赵强周杰吴军北京上海深圳华为技术贸易有限公司",  # CJK
    "abcdefghijklmnopqrstuvwxyz0123456789",
    "ÄÖÜäöüéèçñ",
    "がぎカキ한국어",  # kana and hangul
    " .,-()（）·&　",  # separators
]


def _random_name(rng):
    parts = []
    for _ in range(rng.randint(1, 6)):
        alphabet = rng.choice(ALPHABETS)
        parts.append("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6))))
    return "".join(parts)


def test_every_substring_query_finds_its_name():
    """The prefilter invariant: a normalised substring's query tokens are all in the name's tokens."""
    rng = random.Random(20261123)
    checked = 0
    for _ in range(3000):
        name = _random_name(rng)
        norm = search_normalize(name)
        tokens = search_tokens(name)
        assert len(tokens) <= 2 * len(norm) + 1
        if len(norm) < 2:
            continue
        for _ in range(5):
            start = rng.randrange(len(norm) - 1)
            end = rng.randint(start + 2, len(norm))
            query = norm[start:end]
            # write the query the way a user might: upper case, full width, spaces
            typed = " ".join(query.upper()) if rng.random() < 0.3 else query
            assert name_matches(typed, name)
            q_tokens = query_tokens(typed)
            assert q_tokens, typed
            assert q_tokens <= tokens, (name, typed, q_tokens - tokens)
            checked += 1
    assert checked > 10000


def test_non_substring_queries_are_usually_filtered_out():
    """The index is a useful filter: most random non-matching queries miss some token."""
    rng = random.Random(7)
    names = [_random_name(rng) for _ in range(500)]
    rejected = total = 0
    for name in names:
        query = search_normalize(_random_name(rng))[:4]
        if len(query) < 3 or name_matches(query, name):
            continue
        total += 1
        rejected += not (query_tokens(query) <= search_tokens(name))
    assert total > 100 and rejected / total > 0.9


# ---- traditional and simplified script ---------------------------------------------------------

def test_traditional_characters_fold_to_simplified():
    assert fold_script("李小龍") == "李小龙"
    assert fold_script("臺灣後來") == "台湾后来"
    assert fold_script("张伟 Acme がぎ 한국") == "张伟 Acme がぎ 한국"  # simplified, Latin, kana, hangul stay
    # one character at a time: a fragment folds as it does inside the name
    assert fold_script("乾隆")[0] == fold_script("乾")


def test_script_is_folded_in_every_comparison_form():
    assert normalize_person_name("李小龍") == normalize_person_name("李小龙") == "李小龙"
    assert normalize_person_name("張 偉") == "张伟"
    assert normalize_company_name("臺灣積體電路製造股份有限公司") == "台湾积体电路制造"
    assert normalize_company_name("華為技術有限責任公司") == normalize_company_name("华为技术有限公司")
    assert search_normalize("李小龍") == "李小龙"
    assert name_similarity("李小龍", "李小龙") == 1.0


def test_traditional_queries_find_simplified_names_and_back():
    assert query_tokens("李小龍") <= search_tokens("李小龙")
    assert query_tokens("李小龙") <= search_tokens("李小龍")
    assert name_matches("小龍", "李小龙") and name_matches("小龙", "李小龍")
    assert search_tokens("北京張偉貿易") == search_tokens("北京张伟贸易")


# ---- pinyin ------------------------------------------------------------------------------------

def test_a_person_is_indexed_by_full_reading_initials_and_surname():
    assert reading_keys("person", "张伟") == {"~zhangwei", "~zw", "~zhang"}
    assert reading_keys("person", "張 偉") == reading_keys("person", "张伟")
    assert reading_keys("person", "吕布") == {"~lvbu", "~lb", "~lv"}  # ü typed as v


def test_pinyin_queries_are_one_key():
    for typed in ("zhang wei", "zhangwei", "Zhang Wei", "ZHANGWEI", "zhāng wěi", "zhang-wei", "ｚｈａｎｇ ｗｅｉ"):
        assert reading_query_key(typed) == "~zhangwei", typed
    assert reading_query_key("zw") == reading_query_key("Z W") == "~zw"
    assert reading_query_key("lü bu") == reading_query_key("lv bu") == "~lvbu"
    assert reading_query_key("xi'an") == "~xian"
    for not_pinyin in ("z", "", "张伟", "abc1", "zhang伟", None):
        assert reading_query_key(not_pinyin) is None, not_pinyin
    for typed in ("zhang wei", "zw", "zhang"):
        assert reading_query_key(typed) in reading_keys("person", "张伟")


def test_surnames_are_indexed_under_each_of_their_readings():
    keys = reading_keys("person", "曾小明")
    assert {"~zengxiaoming", "~zxm", "~zeng", "~cengxiaoming", "~cxm", "~ceng"} <= keys
    assert {"~shantianfang", "~stf", "~dantianfang"} <= reading_keys("person", "单田芳")
    assert readings("person", "单田芳")[0] == ["dan", "tian", "fang"]  # the context reading first
    assert all(len(readings("person", name)) <= MAX_READINGS for name in ("单田芳", "曾小明", "仇英", "解放"))
    # only the first character of a person's name: a company's name reads in context
    assert readings("company", "曾氏贸易有限公司") == [["ceng", "shi", "mao", "yi"]]


def test_a_company_is_indexed_by_the_reading_of_its_core():
    keys = reading_keys("company", "鼎盛实业有限公司")
    assert keys == {"~dingshengshiye", "~dssy"}
    assert reading_keys("company", "鼎盛實業股份有限公司") == keys  # script and legal form ignored
    assert reading_query_key("ding sheng shi ye") in keys and reading_query_key("DSSY") in keys
    assert reading_keys("company", "IBM中国有限公司") == {"~ibmzhongguo", "~izg"}


def test_names_without_chinese_characters_have_no_reading_keys():
    assert reading_keys("company", "Acme Trading Co., Ltd.") == set()
    assert reading_keys("person", "John Smith") == set()
    assert reading_keys("person", "") == set() and reading_keys("person", None) == set()


def test_index_tokens_are_n_grams_and_reading_keys_that_never_collide():
    tokens = index_tokens("person", "张伟")
    assert tokens == search_tokens("张伟") | {"~zhangwei", "~zw", "~zhang"}
    assert index_tokens("company", "Acme") == search_tokens("Acme")
    # n-grams hold letters and digits only: no query n-gram can meet a reading key
    rng = random.Random(3)
    for _ in range(300):
        name = _random_name(rng)
        assert not any(t.startswith("~") for t in search_tokens(name) | query_tokens(name))
        assert all(len(t) <= 64 for t in index_tokens("company", name) | index_tokens("person", name))
