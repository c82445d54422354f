"""default role and relationship-type catalogue

The catalogue is data: admins add to it at run time (define_role_type,
define_relationship_type). This inserts the defaults that are missing.

Revision ID: 0002
Revises: 0001
"""
from alembic import op
from sqlalchemy.orm import Session

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    from customer.application.catalogue import ensure_catalogue

    session = Session(bind=op.get_bind())
    ensure_catalogue(session)
    session.flush()


def downgrade():
    op.execute("DELETE FROM role_types")
    op.execute("DELETE FROM relationship_types")
