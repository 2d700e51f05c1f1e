"""xapi index rows keyed by (ifi | activity_id, statement_id): no surrogate id, no foreign key

The agent and activity rows are written for every statement (about eight per statement); their own serial
id, the separate index and the foreign-key check per row cost more than the statement itself at ingest.
Each pair is unique (one row per statement and agent or activity), so it becomes the primary key, which is
also the index the filters use. Two more savings on each statement: the index on ``voids`` goes (no query
reads it), and on PostgreSQL the JSON body is compressed with lz4 instead of pglz (bodies are around 2 kB,
just over the size at which PostgreSQL compresses).

Revision ID: 0009_xapi_index_keys
Revises: 0008_privacy
Create Date: 2026-11-26 18:50:00

"""
from alembic import op


revision = "0009_xapi_index_keys"
down_revision = "0008_privacy"
branch_labels = None
depends_on = None

TABLES = (
    # table, key column, old index
    ("xapi_statement_agents", "ifi", "ix_xapi_statement_agents_ifi"),
    ("xapi_statement_activities", "activity_id", "ix_xapi_statement_activities_activity"),
)


def upgrade():
    for table, key, index in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f"fk_{table}_statement_id_xapi_statements", type_="foreignkey")
            batch_op.drop_index(index)
            batch_op.drop_constraint(f"pk_{table}", type_="primary")
            batch_op.drop_column("id")
            batch_op.create_primary_key(f"pk_{table}", [key, "statement_id"])
    with op.batch_alter_table("xapi_statements", schema=None) as batch_op:
        batch_op.drop_index("ix_xapi_statements_voids")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE xapi_statements ALTER COLUMN body SET COMPRESSION lz4")


def downgrade():
    """Back to a serial id, a separate index and a foreign key: the tables are made again in their old shape
    and refilled from the statements themselves (the rows derive from each statement's JSON)."""
    import json

    import sqlalchemy as sa

    from xapi.store import _activities, _agents

    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE xapi_statements ALTER COLUMN body SET COMPRESSION pglz")
    with op.batch_alter_table("xapi_statements", schema=None) as batch_op:
        batch_op.create_index("ix_xapi_statements_voids", ["voids"], unique=False)
    for table, key, index in TABLES:
        op.drop_table(table)
        op.create_table(
            table,
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("statement_id", sa.String(length=36), nullable=False),
            sa.Column(key, sa.String(length=700 if key == "ifi" else 1024), nullable=False),
            sa.Column("is_direct", sa.Boolean(), nullable=False),
            sa.ForeignKeyConstraint(
                ["statement_id"],
                ["xapi_statements.id"],
                name=f"fk_{table}_statement_id_xapi_statements",
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
        )
        op.create_index(index, table, [key, "statement_id"], unique=False)
    connection = op.get_bind()
    agents = sa.table(
        "xapi_statement_agents", sa.column("statement_id"), sa.column("ifi"), sa.column("is_direct")
    )
    activities = sa.table(
        "xapi_statement_activities", sa.column("statement_id"), sa.column("activity_id"), sa.column("is_direct")
    )
    for statement_id, body in connection.execute(sa.text("SELECT id, body FROM xapi_statements")):
        statement = json.loads(body)
        rows = [{"statement_id": statement_id, "ifi": i, "is_direct": d} for i, d in _agents(statement)]
        if rows:
            connection.execute(agents.insert(), rows)
        rows = [
            {"statement_id": statement_id, "activity_id": a, "is_direct": d} for a, d in _activities(statement)
        ]
        if rows:
            connection.execute(activities.insert(), rows)
