"""registration invites: Dynamic Registration only with the operator's one-time, expiring token

Revision ID: 0010_registration_invites
Revises: 0009_xapi_index_keys
Create Date: 2026-12-07 13:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import lti_tool.db


# revision identifiers, used by Alembic.
revision = '0010_registration_invites'
down_revision = '0009_xapi_index_keys'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('lti_registration_invites',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', lti_tool.db.UTCDateTime(), nullable=False),
    sa.Column('expires_at', lti_tool.db.UTCDateTime(), nullable=False),
    sa.Column('used_at', lti_tool.db.UTCDateTime(), nullable=True),
    sa.Column('platform_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['platform_id'], ['platforms.id'], name=op.f('fk_lti_registration_invites_platform_id_platforms'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_registration_invites')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_lti_registration_invites_token_hash'))
    )


def downgrade():
    op.drop_table('lti_registration_invites')
