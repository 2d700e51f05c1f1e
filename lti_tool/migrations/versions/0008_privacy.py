"""privacy: anonymised counts kept after a person is erased

Revision ID: 0008_privacy
Revises: 0006_competences_certificates
Create Date: 2026-11-27 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import lti_tool.db


# revision identifiers, used by Alembic.
revision = '0008_privacy'
down_revision = '0006_competences_certificates'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('anonymised_counts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform_id', sa.Integer(), nullable=False),
    sa.Column('context_pk', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['context_pk'], ['contexts.id'], name=op.f('fk_anonymised_counts_context_pk_contexts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['platform_id'], ['platforms.id'], name=op.f('fk_anonymised_counts_platform_id_platforms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_anonymised_counts')),
    sa.UniqueConstraint('context_pk', 'month', 'kind', 'code', name=op.f('uq_anonymised_counts_context_pk_month_kind_code'))
    )


def downgrade():
    op.drop_table('anonymised_counts')
