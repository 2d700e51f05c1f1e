"""xapi tenancy: mark the statements Socle recorded itself, the only ones that are competence evidence

Statement API clients control every field of their statements' JSON, so nothing in it can say who recorded a
statement; a column that only Socle's own recording path sets can. Before this revision only two paths
stored statements: Socle's (no source client) and the Statement API (its client's id), so the existing rows
are marked from ``source_client_id``.

Before this revision a client could also void any statement, Socle's included. Socle's own records are now
voided only by Socle (an attendance withdrawn, a credential revoked): a Socle statement voided by nothing of
Socle's own was voided by a client, and is restored (the client's voiding statement stays stored, as sent).
Run ``flask --app lti_tool competences rebuild`` afterwards so that mastery follows.

Revision ID: 0011_xapi_tenancy
Revises: 0010_registration_invites
Create Date: 2026-12-07 13:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = "0011_xapi_tenancy"
down_revision = "0010_registration_invites"
branch_labels = None
depends_on = None


def upgrade():
    # Nearly every existing row is Socle's: the column comes with a default of true, which PostgreSQL
    # records without rewriting the table, only the clients' rows are updated to false, and then the
    # default becomes false, so that a row stored by any other path than Socle's own counts for nothing.
    with op.batch_alter_table("xapi_statements", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_first_party", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    statements = sa.table(
        "xapi_statements",
        sa.column("id", sa.String),
        sa.column("source_client_id", sa.Integer),
        sa.column("is_first_party", sa.Boolean),
        sa.column("is_voided", sa.Boolean),
        sa.column("voids", sa.String),
    )
    op.execute(
        statements.update()
        .where(statements.c.source_client_id.is_not(None))
        .values(is_first_party=False)
    )
    with op.batch_alter_table("xapi_statements", schema=None) as batch_op:
        batch_op.alter_column(
            "is_first_party", existing_type=sa.Boolean(), existing_nullable=False, server_default=sa.false()
        )
    voided_by_socle = (
        sa.select(statements.c.voids)
        # voids IS NOT NULL: a NULL in a NOT IN list would make it match nothing.
        .where(statements.c.is_first_party.is_(True), statements.c.voids.is_not(None))
    )
    op.execute(
        statements.update()
        .where(
            statements.c.is_first_party.is_(True),
            statements.c.is_voided.is_(True),
            statements.c.id.not_in(voided_by_socle),
        )
        .values(is_voided=False)
    )


def downgrade():
    with op.batch_alter_table("xapi_statements", schema=None) as batch_op:
        batch_op.drop_column("is_first_party")
