"""The web desk: accounts (people) and API tokens (other systems); customers get their tariff
and an index on their name (the operators' search by name).

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_accounts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("agent_id", sa.String(32)),
        sa.Column("district_code", sa.String(16)),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("password_changed_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("account_id", sa.Integer, sa.ForeignKey("web_accounts.id"), nullable=False,
                  index=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("revoked_at", sa.DateTime),
    )
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("tariff", sa.String(32), nullable=False,
                                   server_default="residential"))
    op.create_index("ix_customers_name", "customers", ["name"])


def downgrade() -> None:
    op.drop_index("ix_customers_name", "customers")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("tariff")
    op.drop_table("api_tokens")
    op.drop_table("web_accounts")
