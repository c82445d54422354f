"""default sales pipeline

The pipeline is data: admins change it at run time (RPC ``define_stage``). This inserts
the stages of ``sales.domain.funnel.DEFAULT_PIPELINE`` that are missing; stages already
there (configured by an office) are left as they are.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

from sales.domain.funnel import DEFAULT_PIPELINE

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# the table as this revision knows it (not the current model, which may have moved on)
pipeline_stages = sa.table(
    "pipeline_stages",
    sa.column("code", sa.String), sa.column("name", sa.String), sa.column("position", sa.Integer),
    sa.column("probability", sa.Numeric(7, 4)), sa.column("is_won", sa.Boolean),
    sa.column("is_lost", sa.Boolean))


def upgrade():
    bind = op.get_bind()
    existing = set(bind.execute(sa.select(pipeline_stages.c.code)).scalars())
    rows = [{"code": s.code, "name": s.name, "position": s.order, "probability": s.probability,
             "is_won": s.is_won, "is_lost": s.is_lost}
            for s in DEFAULT_PIPELINE if s.code not in existing]
    if rows:
        op.bulk_insert(pipeline_stages, rows)


def downgrade():
    codes = [s.code for s in DEFAULT_PIPELINE]
    op.execute(pipeline_stages.delete().where(pipeline_stages.c.code.in_(codes)))
