"""Call records and the call-journal offset.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calls",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("call_id", sa.String(64), nullable=False, unique=True),
        sa.Column("sip_call_id", sa.String(128), index=True),
        sa.Column("caller_number", sa.String(32), nullable=False, index=True),
        sa.Column("started_at", sa.DateTime, nullable=False, index=True),
        sa.Column("ended_at", sa.DateTime),
        sa.Column("ivr_ended_at", sa.DateTime),
        sa.Column("path", sa.JSON, nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("menu_version", sa.String(64)),
        sa.Column("queue_status", sa.String(32)),
        sa.Column("operator", sa.String(32)),
    )
    op.create_table(
        "journal_offsets",
        sa.Column("path", sa.String(512), primary_key=True),
        sa.Column("inode", sa.BigInteger, nullable=False),
        sa.Column("offset", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("journal_offsets")
    op.drop_table("calls")
