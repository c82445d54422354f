"""initial customer schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 16:46:28.463112
"""
from alembic import op
import sqlalchemy as sa

import guanxi_common.columns
from guanxi_common.migrations import create_messaging_tables, drop_messaging_tables


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('customers',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('number', sa.String(length=16), nullable=False),
    sa.Column('party_type', sa.String(length=10), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_normalized', sa.String(length=200), nullable=False),
    sa.Column('match_key', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('tier', sa.String(length=12), nullable=True),
    sa.Column('province', sa.String(length=40), nullable=True),
    sa.Column('city', sa.String(length=60), nullable=True),
    sa.Column('owner_id', sa.String(length=64), nullable=True),
    sa.Column('owned_since', guanxi_common.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_owner_id', sa.String(length=64), nullable=True),
    sa.Column('released_at', guanxi_common.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_follow_up_at', guanxi_common.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('marketing_consent', sa.Boolean(), nullable=False),
    sa.Column('marketing_consent_at', guanxi_common.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('credit_limit', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('credit_currency', sa.String(length=3), nullable=False),
    sa.Column('credit_policy', sa.String(length=8), nullable=False),
    sa.Column('preferences', sa.JSON(), nullable=False),
    sa.Column('gender', sa.String(length=10), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('marital_status', sa.String(length=12), nullable=True),
    sa.Column('industry', sa.String(length=80), nullable=True),
    sa.Column('founded_on', sa.Date(), nullable=True),
    sa.Column('registered_capital', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('registered_capital_currency', sa.String(length=3), nullable=True),
    sa.Column('credit_code', sa.String(length=18), nullable=True),
    sa.Column('merged_into_id', sa.String(length=36), nullable=True),
    sa.Column('merged_at', guanxi_common.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('erased_at', guanxi_common.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('erased_by', sa.String(length=64), nullable=True),
    sa.Column('erase_reason', sa.Text(), nullable=True),
    sa.Column('record', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', guanxi_common.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.Column('updated_at', guanxi_common.columns.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['merged_into_id'], ['customers.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('credit_code'),
    sa.UniqueConstraint('number'),
    sa.UniqueConstraint('seq')
    )
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.create_index('ix_customers_city_seq', ['city', 'seq'], unique=False)
        batch_op.create_index(batch_op.f('ix_customers_match_key'), ['match_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_customers_name_normalized'), ['name_normalized'], unique=False)
        batch_op.create_index('ix_customers_owner_seq', ['owner_id', 'seq'], unique=False)
        batch_op.create_index('ix_customers_party_seq', ['party_type', 'seq'], unique=False)
        batch_op.create_index('ix_customers_person_dup', ['match_key', 'birth_date'], unique=False)
        batch_op.create_index('ix_customers_pool_clock', ['owner_id', 'last_follow_up_at'], unique=False)
        batch_op.create_index('ix_customers_province_seq', ['province', 'seq'], unique=False)
        batch_op.create_index('ix_customers_status_seq', ['status', 'seq'], unique=False)
        batch_op.create_index('ix_customers_tier_seq', ['tier', 'seq'], unique=False)

    op.create_table('name_tokens',
    sa.Column('token', sa.String(length=16), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('token', 'seq'),
    sqlite_with_rowid=False
    )
    with op.batch_alter_table('name_tokens', schema=None) as batch_op:
        batch_op.create_index('ix_name_tokens_seq', ['seq'], unique=False)

    op.create_table('number_sequences',
    sa.Column('name', sa.String(length=30), nullable=False),
    sa.Column('next_value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('relationship_types',
    sa.Column('code', sa.String(length=30), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('inverse_name', sa.String(length=80), nullable=False),
    sa.Column('inverse_code', sa.String(length=30), nullable=True),
    sa.Column('name_zh', sa.String(length=80), nullable=True),
    sa.Column('inverse_name_zh', sa.String(length=80), nullable=True),
    sa.Column('from_party_types', sa.String(length=30), nullable=False),
    sa.Column('to_party_types', sa.String(length=30), nullable=False),
    sa.Column('hierarchical', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('code'),
    sa.UniqueConstraint('inverse_code')
    )
    op.create_table('role_types',
    sa.Column('code', sa.String(length=30), nullable=False),
    sa.Column('label_en', sa.String(length=80), nullable=False),
    sa.Column('label_zh', sa.String(length=80), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_table('addresses',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('customer_id', sa.String(length=36), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('province', sa.String(length=40), nullable=True),
    sa.Column('city', sa.String(length=60), nullable=True),
    sa.Column('district', sa.String(length=60), nullable=True),
    sa.Column('street', sa.String(length=200), nullable=True),
    sa.Column('postal_code', sa.String(length=12), nullable=True),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('addresses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_addresses_customer_id'), ['customer_id'], unique=False)

    op.create_table('contact_points',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('customer_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('value', sa.String(length=254), nullable=False),
    sa.Column('label', sa.String(length=20), nullable=True),
    sa.Column('is_primary', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kind', 'value', name='uq_contact_points_kind_value')
    )
    with op.batch_alter_table('contact_points', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_points_customer_id'), ['customer_id'], unique=False)

    op.create_table('customer_history',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('customer_id', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('field', sa.String(length=80), nullable=False),
    sa.Column('old_value', sa.Text(), nullable=True),
    sa.Column('new_value', sa.Text(), nullable=True),
    sa.Column('actor_id', sa.String(length=64), nullable=False),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('changed_at', guanxi_common.columns.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('customer_history', schema=None) as batch_op:
        batch_op.create_index('ix_history_customer', ['customer_id', 'id'], unique=False)

    op.create_table('customer_roles',
    sa.Column('customer_id', sa.String(length=36), nullable=False),
    sa.Column('role_code', sa.String(length=30), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('assigned_at', guanxi_common.columns.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.ForeignKeyConstraint(['role_code'], ['role_types.code'], ),
    sa.PrimaryKeyConstraint('customer_id', 'role_code')
    )
    with op.batch_alter_table('customer_roles', schema=None) as batch_op:
        batch_op.create_index('ix_customer_roles_role_seq', ['role_code', 'seq'], unique=False)

    op.create_table('customer_tags',
    sa.Column('customer_id', sa.String(length=36), nullable=False),
    sa.Column('tag', sa.String(length=50), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.PrimaryKeyConstraint('customer_id', 'tag')
    )
    with op.batch_alter_table('customer_tags', schema=None) as batch_op:
        batch_op.create_index('ix_customer_tags_tag_seq', ['tag', 'seq'], unique=False)

    op.create_table('financial_summaries',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('customer_id', sa.String(length=36), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('revenue', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('net_profit', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('total_assets', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('customer_id', 'fiscal_year', name='uq_financials_year')
    )
    op.create_table('relationships',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('type_code', sa.String(length=30), nullable=False),
    sa.Column('from_id', sa.String(length=36), nullable=False),
    sa.Column('to_id', sa.String(length=36), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.Column('created_at', guanxi_common.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['from_id'], ['customers.id'], ),
    sa.ForeignKeyConstraint(['to_id'], ['customers.id'], ),
    sa.ForeignKeyConstraint(['type_code'], ['relationship_types.code'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('relationships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_relationships_from_id'), ['from_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_relationships_to_id'), ['to_id'], unique=False)
        batch_op.create_index('ix_relationships_type_from', ['type_code', 'from_id'], unique=False)

    create_messaging_tables(op)



def downgrade():
    drop_messaging_tables(op)
    with op.batch_alter_table('relationships', schema=None) as batch_op:
        batch_op.drop_index('ix_relationships_type_from')
        batch_op.drop_index(batch_op.f('ix_relationships_to_id'))
        batch_op.drop_index(batch_op.f('ix_relationships_from_id'))

    op.drop_table('relationships')
    op.drop_table('financial_summaries')
    with op.batch_alter_table('customer_tags', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_tags_tag_seq')

    op.drop_table('customer_tags')
    with op.batch_alter_table('customer_roles', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_roles_role_seq')

    op.drop_table('customer_roles')
    with op.batch_alter_table('customer_history', schema=None) as batch_op:
        batch_op.drop_index('ix_history_customer')

    op.drop_table('customer_history')
    with op.batch_alter_table('contact_points', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_points_customer_id'))

    op.drop_table('contact_points')
    with op.batch_alter_table('addresses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_addresses_customer_id'))

    op.drop_table('addresses')
    op.drop_table('role_types')
    op.drop_table('relationship_types')
    op.drop_table('number_sequences')
    with op.batch_alter_table('name_tokens', schema=None) as batch_op:
        batch_op.drop_index('ix_name_tokens_seq')

    op.drop_table('name_tokens')
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_index('ix_customers_tier_seq')
        batch_op.drop_index('ix_customers_status_seq')
        batch_op.drop_index('ix_customers_province_seq')
        batch_op.drop_index('ix_customers_pool_clock')
        batch_op.drop_index('ix_customers_person_dup')
        batch_op.drop_index('ix_customers_party_seq')
        batch_op.drop_index('ix_customers_owner_seq')
        batch_op.drop_index(batch_op.f('ix_customers_name_normalized'))
        batch_op.drop_index(batch_op.f('ix_customers_match_key'))
        batch_op.drop_index('ix_customers_city_seq')

    op.drop_table('customers')
