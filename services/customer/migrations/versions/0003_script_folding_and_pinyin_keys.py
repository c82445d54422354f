"""name index with pinyin keys; traditional script folded in the comparison forms

The name index (``name_tokens``) also holds pinyin keys ("~zhangwei", "~zw"), up to 64
characters long, and ``name_normalized``, ``match_key`` and the n-grams are now in
simplified script (``customer.domain.names``). Existing customers are brought up to date
here in batches of ``BATCH`` customers: only what differs is written, so on a database of
Chinese names it is mostly the insert of the new keys (about three per customer).
Erased customers keep their anonymised forms (their number).

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BATCH = 5_000
NOT_INDEXED = ("merged", "erased")

customers = sa.table("customers", sa.column("seq", sa.BigInteger), sa.column("party_type", sa.String),
                     sa.column("name", sa.String), sa.column("status", sa.String),
                     sa.column("name_normalized", sa.String), sa.column("match_key", sa.String))
name_tokens = sa.table("name_tokens", sa.column("token", sa.String), sa.column("seq", sa.BigInteger))


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":  # SQLite does not enforce VARCHAR lengths
        op.alter_column("name_tokens", "token", type_=sa.String(64), existing_type=sa.String(16),
                        existing_nullable=False)
    after = 0
    while True:
        rows = bind.execute(sa.select(customers).where(customers.c.seq > after)
                            .order_by(customers.c.seq).limit(BATCH)).all()
        if not rows:
            return
        _reindex(bind, rows)
        after = rows[-1].seq


def _reindex(bind, rows):
    from customer.domain import names

    first, last = rows[0].seq, rows[-1].seq
    held = {}
    for token, seq in bind.execute(sa.select(name_tokens.c.token, name_tokens.c.seq)
                                   .where(name_tokens.c.seq.between(first, last))):
        held.setdefault(seq, set()).add(token)
    changed, stale, fresh = [], [], []
    for row in rows:
        if row.status == "erased":
            continue
        normalized = names.search_normalize(row.name)
        key = (names.normalize_company_name(row.name) if row.party_type == "company"
               else names.normalize_person_name(row.name))
        if (normalized, key) != (row.name_normalized, row.match_key):
            changed.append({"row_seq": row.seq, "normalized": normalized, "key": key})
        wanted = names.index_tokens(row.party_type, row.name) if row.status not in NOT_INDEXED else set()
        have = held.get(row.seq, set())
        stale += [{"old_token": t, "row_seq": row.seq} for t in have - wanted]
        fresh += [{"token": t, "seq": row.seq} for t in wanted - have]
    if changed:
        bind.execute(customers.update().where(customers.c.seq == sa.bindparam("row_seq"))
                     .values(name_normalized=sa.bindparam("normalized"), match_key=sa.bindparam("key")),
                     changed)
    if stale:
        bind.execute(name_tokens.delete().where(name_tokens.c.token == sa.bindparam("old_token"),
                                                name_tokens.c.seq == sa.bindparam("row_seq")), stale)
    if fresh:
        bind.execute(name_tokens.insert(), fresh)


def downgrade():
    # The pinyin keys go; the folded forms stay (they only make more names compare equal).
    op.execute(name_tokens.delete().where(name_tokens.c.token.like("~%")))
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("name_tokens", "token", type_=sa.String(16), existing_type=sa.String(64),
                        existing_nullable=False)
