from datetime import date

from customer.domain.duplicates import Candidate, Match, find_likely_duplicates, hard_conflicts
from guanxi_common.identifiers import make_credit_code

HUAWEI_CODE = "914403001922038216"
OTHER_CODE = make_credit_code("91310000MA1FL8K6X")


def company(id, number, name, credit_code=None, phones=(), emails=()):
    return Candidate(id, number, "company", name, None, credit_code, tuple(phones), tuple(emails))


def person(id, number, name, birth_date=None, phones=(), emails=()):
    return Candidate(id, number, "person", name, birth_date, None, tuple(phones), tuple(emails))


def test_hard_conflicts_compare_normalized_values():
    existing = [
        person(1, "C00000001", "张伟", phones=["+8613812345678"], emails=["zhang.wei@qq.com"]),
        company(2, "C00000002", "华为技术有限公司", credit_code=HUAWEI_CODE, phones=["0755-28780808"]),
    ]
    new = company(None, None, "Huawei", credit_code="9144 0300 1922 0382 16",
                  phones=["138 1234 5678", "+86 755 2878 0808"], emails=["Zhang.Wei@QQ.COM"])
    assert hard_conflicts(new, existing) == [
        ("phone", "+8613812345678", "C00000001"),
        ("email", "zhang.wei@qq.com", "C00000001"),
        ("credit_code", HUAWEI_CODE, "C00000002"),
        ("phone", "+8675528780808", "C00000002"),
    ]


def test_no_conflict_with_itself_or_unrelated_values():
    me = person(1, "C00000001", "张伟", phones=["13812345678"], emails=["a@b.cn"])
    assert hard_conflicts(me, [me]) == []
    other = person(2, "C00000002", "李娜", phones=["13912345678"], emails=["c@b.cn"])
    assert hard_conflicts(me, [other]) == []


def test_unnormalizable_values_never_conflict():
    garbage = person(1, "C00000001", "x", phones=["n/a"], emails=["none"])
    assert hard_conflicts(person(2, "C00000002", "y", phones=["n/a"], emails=["none"]), [garbage]) == []
    bad_code = company(3, "C00000003", "z", credit_code="123")
    assert hard_conflicts(company(4, None, "w", credit_code="123"), [bad_code]) == []


def test_same_normalized_company_name():
    existing = [company(1, "C00000001", "上海华为技术股份有限公司"), company(2, "C00000002", "腾讯科技有限公司")]
    matches = find_likely_duplicates(company(None, None, "上海华为技术(有限公司)"), existing)
    assert [(m.candidate.number, m.reasons) for m in matches] == [("C00000001", ["same_normalized_company_name"])]
    assert matches[0].score == 0.95


def test_english_legal_forms_are_ignored():
    existing = [company(1, "C00000001", "ACME TRADING CO LTD")]
    matches = find_likely_duplicates(company(None, None, "Acme Trading Company Limited"), existing)
    assert matches[0].reasons == ["same_normalized_company_name"]


def test_same_person_name_and_birth_date():
    born = date(1985, 3, 12)
    existing = [
        person(1, "C00000001", "张伟", born),
        person(2, "C00000002", "张伟", date(1990, 1, 1)),  # another 张伟: different person
        person(3, "C00000003", "张 伟"),                     # birth date unknown
    ]
    matches = find_likely_duplicates(person(None, None, "张伟", born), existing)
    assert [(m.candidate.number, m.reasons, m.score) for m in matches] == [
        ("C00000001", ["same_name_and_birth_date"], 0.95),
        ("C00000003", ["same_name"], 0.9),
    ]


def test_similar_names():
    existing = [company(1, "C00000001", "Acme Tradings Co., Ltd."), company(2, "C00000002", "Apex Mining Ltd")]
    matches = find_likely_duplicates(company(None, None, "Acme Trading Inc."), existing)
    assert [m.candidate.number for m in matches] == ["C00000001"]
    assert matches[0].reasons == ["similar_name"]
    assert 0.85 * 0.9 <= matches[0].score < 0.9  # below every exact signal


def test_threshold_controls_similar_names():
    existing = [person(1, "C00000001", "Jonathan Smith")]
    new = person(None, None, "Jonathon Smyth")
    assert find_likely_duplicates(new, existing) == []
    loose = find_likely_duplicates(new, existing, threshold=0.8)
    assert loose and loose[0].reasons == ["similar_name"]


def test_similar_name_ranks_below_same_name():
    existing = [person(1, "C00000001", "Jon Smith"), person(2, "C00000002", "John Smith")]
    matches = find_likely_duplicates(person(None, None, "John Smith"), existing)
    assert [(m.candidate.number, m.reasons) for m in matches] == [
        ("C00000002", ["same_name"]), ("C00000001", ["similar_name"])]


def test_similar_person_names_with_same_birth_date():
    born = date(1970, 5, 1)
    matches = find_likely_duplicates(person(None, None, "Jon Smith", born), [person(1, "C1", "John Smith", born)])
    assert matches[0].reasons == ["similar_name", "same_birth_date"]


def test_different_credit_codes_are_different_companies():
    existing = [company(1, "C00000001", "Acme Trading Ltd", credit_code=HUAWEI_CODE)]
    assert find_likely_duplicates(company(None, None, "Acme Trading Inc.", credit_code=OTHER_CODE), existing) == []
    # without a code on one side, the name still counts
    assert find_likely_duplicates(company(None, None, "Acme Trading Inc."), existing)


def test_person_and_company_with_one_name_are_not_duplicates_by_name():
    assert find_likely_duplicates(person(None, None, "华为"), [company(1, "C00000001", "华为有限公司")]) == []


def test_contact_matches_are_reported_and_ranked_first():
    existing = [
        company(1, "C00000001", "上海华为技术有限公司"),
        company(2, "C00000002", "Totally different", emails=["info@huawei.com"]),
    ]
    matches = find_likely_duplicates(company(None, None, "上海华为技术股份有限公司", emails=["INFO@huawei.com"]), existing)
    assert [m.candidate.number for m in matches] == ["C00000002", "C00000001"]
    assert matches[0] == Match(existing[1], 1.0, ["same_email"])


def test_ties_are_ordered_by_number_and_self_is_skipped():
    new = company(9, "C00000009", "华为有限公司")
    existing = [company(3, "C00000003", "华为股份有限公司"), new, company(2, "C00000002", "华为公司")]
    assert [m.candidate.number for m in find_likely_duplicates(new, existing)] == ["C00000002", "C00000003"]


def test_traditional_script_is_a_likely_duplicate_of_simplified():
    existing = [person(1, "C00000001", "李小龙"), person(2, "C00000002", "李小虎")]
    matches = find_likely_duplicates(person(None, None, "李小龍"), existing)
    assert [(m.candidate.number, m.reasons, m.score) for m in matches] == [("C00000001", ["same_name"], 0.9)]
    company_matches = find_likely_duplicates(company(None, None, "華為技術股份有限公司"),
                                             [company(3, "C00000003", "华为技术有限公司")])
    assert company_matches[0].reasons == ["same_normalized_company_name"]


def test_phone_written_with_parenthesised_country_code_conflicts():
    existing = [person(1, "C00000001", "张伟", phones=["+8615522986403"])]
    new = person(None, None, "王芳", phones=["(+86) 155 2298 6403"])
    assert hard_conflicts(new, existing) == [("phone", "+8615522986403", "C00000001")]
