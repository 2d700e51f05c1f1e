"""demo platform out of the tool's schema: drop the demo_* tables of 0005

The demo platform (demo_platform/, development and tests only) now keeps its own tables (demo_lms_*),
created by itself when it is enabled; a production database has none of them. The downgrade puts the
0005 tables back, empty.

Revision ID: 0018_demo_platform_out
Revises: 0017_live_sessions
Create Date: 2026-12-07 16:20:00

"""

import sqlalchemy as sa
from alembic import op

from lti_tool.db import NAMING_CONVENTION, UTCDateTime

revision = "0018_demo_platform_out"
down_revision = "0017_live_sessions"
branch_labels = None
depends_on = None

# The tables as migration 0005 made them (frozen here: the demo's models have moved on).
demo_0005 = sa.MetaData(naming_convention=NAMING_CONVENTION)
sa.Table(
    "demo_access_tokens",
    demo_0005,
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("token_hash", sa.String(length=64), nullable=False, unique=True),
    sa.Column("client_id", sa.String(length=255), nullable=False, index=True),
    sa.Column("scopes", sa.JSON(), nullable=False),
    sa.Column("issued_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
)
sa.Table(
    "demo_line_items",
    demo_0005,
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("course_id", sa.String(length=255), nullable=False, index=True),
    sa.Column("client_id", sa.String(length=255), nullable=False, index=True),
    sa.Column("resource_link_id", sa.String(length=255), nullable=True),
    sa.Column("label", sa.String(length=255), nullable=False),
    sa.Column("score_maximum", sa.Float(), nullable=False),
    sa.Column("resource_id", sa.String(length=255), nullable=True),
    sa.Column("tag", sa.String(length=255), nullable=True),
    sa.Column("start_date_time", sa.String(length=64), nullable=True),
    sa.Column("end_date_time", sa.String(length=64), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)
sa.Table(
    "demo_members",
    demo_0005,
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("course_id", sa.String(length=255), nullable=False),
    sa.Column("sub", sa.String(length=255), nullable=False),
    sa.Column("name", sa.String(length=255), nullable=True),
    sa.Column("given_name", sa.String(length=255), nullable=True),
    sa.Column("family_name", sa.String(length=255), nullable=True),
    sa.Column("email", sa.String(length=320), nullable=True),
    sa.Column("roles", sa.JSON(), nullable=False),
    sa.Column("status", sa.String(length=16), nullable=False),
    sa.Column("generated", sa.Boolean(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("course_id", "sub"),
)
sa.Table(
    "demo_resource_links",
    demo_0005,
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("course_id", sa.String(length=255), nullable=False, index=True),
    sa.Column("client_id", sa.String(length=255), nullable=False),
    sa.Column("title", sa.String(length=255), nullable=False),
    sa.Column("text", sa.Text(), nullable=True),
    sa.Column("url", sa.String(length=1024), nullable=True),
    sa.Column("custom", sa.JSON(), nullable=False),
    sa.Column("document_target", sa.String(length=16), nullable=False),
    sa.Column("line_item_id", sa.Integer(), nullable=True),
    sa.Column("created_by", sa.String(length=255), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)
sa.Table(
    "demo_token_counters",
    demo_0005,
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("client_id", sa.String(length=255), nullable=False),
    sa.Column("scope", sa.String(length=255), nullable=False),
    sa.Column("count", sa.Integer(), nullable=False),
    sa.Column("last_issued_at", UTCDateTime(), nullable=True),
    sa.UniqueConstraint("client_id", "scope"),
)
sa.Table(
    "demo_tools",
    demo_0005,
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("client_id", sa.String(length=64), nullable=False, unique=True),
    sa.Column("deployment_id", sa.String(length=64), nullable=False),
    sa.Column("name", sa.String(length=255), nullable=False),
    sa.Column("initiate_login_uri", sa.String(length=1024), nullable=False),
    sa.Column("redirect_uris", sa.JSON(), nullable=False),
    sa.Column("jwks_uri", sa.String(length=1024), nullable=False),
    sa.Column("target_link_uri", sa.String(length=1024), nullable=False),
    sa.Column("deep_link_uri", sa.String(length=1024), nullable=True),
    sa.Column("domain", sa.String(length=255), nullable=False),
    sa.Column("scopes", sa.JSON(), nullable=False),
    sa.Column("claims", sa.JSON(), nullable=False),
    sa.Column("custom_parameters", sa.JSON(), nullable=False),
    sa.Column("metadata_json", sa.JSON(), nullable=False),
    sa.Column("status", sa.String(length=16), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("activated_at", UTCDateTime(), nullable=True),
)
sa.Table(
    "demo_used_nonces",
    demo_0005,
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("kind", sa.String(length=32), nullable=False),
    sa.Column("value", sa.String(length=255), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False, index=True),
    sa.UniqueConstraint("kind", "value"),
)
sa.Table(
    "demo_registration_tokens",
    demo_0005,
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("token_hash", sa.String(length=64), nullable=False, unique=True),
    sa.Column("pending", sa.Boolean(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Column("used_at", UTCDateTime(), nullable=True),
    sa.Column("tool_id", sa.Integer(), sa.ForeignKey("demo_tools.id", ondelete="SET NULL"), nullable=True),
)
sa.Table(
    "demo_scores",
    demo_0005,
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column(
        "line_item_id",
        sa.Integer(),
        sa.ForeignKey("demo_line_items.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("user_sub", sa.String(length=255), nullable=False),
    sa.Column("score_given", sa.Float(), nullable=True),
    sa.Column("score_maximum", sa.Float(), nullable=True),
    sa.Column("activity_progress", sa.String(length=32), nullable=False),
    sa.Column("grading_progress", sa.String(length=32), nullable=False),
    sa.Column("timestamp", UTCDateTime(), nullable=False),
    sa.Column("timestamp_epoch", sa.Integer(), nullable=False),
    sa.Column("comment", sa.Text(), nullable=True),
    sa.Column("client_id", sa.String(length=255), nullable=False),
    sa.Column("received_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("line_item_id", "user_sub", "timestamp_epoch"),
)


def upgrade():
    # Whatever they hold is the demo LMS's (development data); production databases hold them empty.
    demo_0005.drop_all(op.get_bind(), checkfirst=True)


def downgrade():
    demo_0005.create_all(op.get_bind(), checkfirst=True)
