"""The steps added to a call's path after the IVR (by the ACD), each once by its write id.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "call_appends",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("write_id", sa.String(32), nullable=False, unique=True),
        sa.Column("call_id", sa.String(64), nullable=False, index=True),
        sa.Column("entry", sa.JSON, nullable=False),
        sa.Column("applied_at", sa.DateTime, nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("call_appends")
