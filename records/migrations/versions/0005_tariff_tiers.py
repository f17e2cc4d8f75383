"""Tariff tiers: the published tiered price lists the IVR reads to callers, with the household
(residential) tariff in force since 11 October 2024 (Quyết định 2699/QĐ-BCT) as the first list.

Revision ID: 0005
Revises: 0004
"""
import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

#: (tier, up to kWh, đồng per kWh before VAT); the same numbers as records.datagen's
#: RESIDENTIAL_TARIFF (a unit test keeps them equal)
RESIDENTIAL_2024 = [(1, 50, 1_893), (2, 100, 1_956), (3, 200, 2_271), (4, 300, 2_860),
                    (5, 400, 3_197), (6, None, 3_302)]


def upgrade() -> None:
    table = op.create_table(
        "tariff_tiers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tariff", sa.String(32), nullable=False),
        sa.Column("valid_from", sa.Date, nullable=False),
        sa.Column("tier", sa.Integer, nullable=False),
        sa.Column("up_to_kwh", sa.Integer),
        sa.Column("price", sa.Integer, nullable=False),
        sa.UniqueConstraint("tariff", "valid_from", "tier", name="uq_tariff_tiers_tier"),
    )
    op.bulk_insert(table, [{"tariff": "residential", "valid_from": dt.date(2024, 10, 11),
                            "tier": tier, "up_to_kwh": up_to, "price": price}
                           for tier, up_to, price in RESIDENTIAL_2024])


def downgrade() -> None:
    op.drop_table("tariff_tiers")
