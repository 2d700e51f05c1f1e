"""lrs: the documents of the State, Activity Profile and Agent Profile resources

One table of documents (bytes and their content type), looked up by digests of their keys; and the
attachments sent with statements (multipart/mixed), kept per statement.

Revision ID: 0019_xapi_documents
Revises: 0018_demo_platform_out
Create Date: 2026-12-07 16:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0019_xapi_documents"
down_revision = "0018_demo_platform_out"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "xapi_documents",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key_digest", sa.String(length=64), nullable=False),
        sa.Column("scope_digest", sa.String(length=64), nullable=False),
        sa.Column("agent_digest", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("tenant", sa.String(length=24), nullable=False),
        sa.Column("activity_id", sa.Text(), nullable=True),
        sa.Column("agent_ifi", sa.Text(), nullable=True),
        sa.Column("agent", sa.Text(), nullable=True),
        sa.Column("registration", sa.String(length=36), nullable=True),
        sa.Column("document_id", sa.Text(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=False),
        sa.Column("etag", sa.String(length=40), nullable=False),
        sa.Column("updated_us", sa.BigInteger(), nullable=False),
        sa.Column("source_client_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_xapi_documents")),
        sa.UniqueConstraint("key_digest", name=op.f("uq_xapi_documents_key_digest")),
    )
    op.create_index("ix_xapi_documents_scope", "xapi_documents", ["scope_digest", "updated_us"], unique=False)
    op.create_index("ix_xapi_documents_agent", "xapi_documents", ["agent_digest"], unique=False)
    op.create_table(
        "xapi_statement_attachments",
        sa.Column("statement_id", sa.String(length=36), nullable=False),
        sa.Column("sha2", sa.String(length=128), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("statement_id", "sha2", name=op.f("pk_xapi_statement_attachments")),
    )


def downgrade():
    op.drop_table("xapi_statement_attachments")
    op.drop_index("ix_xapi_documents_agent", table_name="xapi_documents")
    op.drop_index("ix_xapi_documents_scope", table_name="xapi_documents")
    op.drop_table("xapi_documents")
