"""Migration 0003 brings customers stored before it up to date: folded script in the
comparison forms and the name index, pinyin keys for live customers only."""
from sqlalchemy import text

from customer.domain import names
from guanxi_common.engine import make_engine
from guanxi_common.migrations import upgrade
from guanxi_common.testing.databases import alembic_ini

CUSTOMERS = [  # seq, party type, name, status, the forms stored before 0003
    (1, "person", "李小龍", "active", "李小龍", "李小龍"),
    (2, "company", "鼎盛實業有限公司", "prospect", "鼎盛實業有限公司", "鼎盛實業"),
    (3, "person", "张伟", "merged", "张伟", "张伟"),
    (4, "person", "c00000004", "erased", "c00000004", "c00000004"),
]


def _old_tokens(name):  # what the n-gram index held then: no folding, no keys
    norm = "".join(ch for ch in name if ch.isalnum()).casefold()
    return {norm[i:i + 2] for i in range(len(norm) - 1)}


def test_upgrade_folds_and_adds_pinyin_keys_to_existing_rows(db_url):
    ini = str(alembic_ini("customer"))
    upgrade("customer", ini, db_url, revision="0002")
    engine = make_engine(db_url)
    with engine.begin() as conn:
        for seq, party, name, status, normalized, key in CUSTOMERS:
            conn.execute(text(
                "INSERT INTO customers (id, seq, number, party_type, name, name_normalized, match_key, "
                "status, marketing_consent, credit_currency, credit_policy, preferences, version, "
                "created_at, updated_at) VALUES (:id, :seq, :number, :party, :name, :normalized, :key, "
                ":status, false, 'CNY', 'none', '{}', 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"),
                {"id": f"id-{seq}", "seq": seq, "number": f"C{seq:08d}", "party": party, "name": name,
                 "normalized": normalized, "key": key, "status": status})
            if status not in ("merged", "erased"):
                conn.execute(text("INSERT INTO name_tokens (token, seq) VALUES (:token, :seq)"),
                             [{"token": t, "seq": seq} for t in _old_tokens(name)])
    upgrade("customer", ini, db_url)
    with engine.connect() as conn:
        forms = {row.seq: (row.name_normalized, row.match_key) for row in conn.execute(
            text("SELECT seq, name_normalized, match_key FROM customers"))}
        tokens = {}
        for token, seq in conn.execute(text("SELECT token, seq FROM name_tokens")):
            tokens.setdefault(seq, set()).add(token)
    engine.dispose()
    assert forms[1] == ("李小龙", "李小龙") and forms[2] == ("鼎盛实业有限公司", "鼎盛实业")
    assert forms[4] == ("c00000004", "c00000004")  # erased: its anonymised forms stay
    assert tokens[1] == names.index_tokens("person", "李小龙") >= {"李小", "小龙", "~lixiaolong", "~lxl"}
    assert tokens[2] == names.index_tokens("company", "鼎盛實業有限公司") >= {"~dingshengshiye", "~dssy"}
    assert 3 not in tokens and 4 not in tokens  # merged and erased customers are not indexed
