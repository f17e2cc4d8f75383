"""Customer-care records: district companies, customers and phones, bills, planned outages,
requests with their events, and the call history's links to them.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "district_companies",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(16), nullable=False, unique=True),
        sa.Column("name", sa.String(128), nullable=False),
    )
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(13), nullable=False, unique=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("address", sa.String(256), nullable=False),
        sa.Column("district_company_id", sa.Integer, sa.ForeignKey("district_companies.id"),
                  nullable=False),
        sa.Column("area", sa.String(64), nullable=False),
        sa.Column("feeder", sa.String(32), nullable=False),
    )
    op.create_index("ix_customers_feeder", "customers", ["feeder"])
    op.create_table(
        "customer_phones",
        sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.id"), primary_key=True),
        sa.Column("phone", sa.String(20), primary_key=True),
    )
    op.create_index("ix_customer_phones_phone", "customer_phones", ["phone"])
    op.create_table(
        "bills",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("period", sa.Date, nullable=False),
        sa.Column("kwh", sa.Integer, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("due_date", sa.Date, nullable=False),
        sa.Column("paid", sa.Boolean, nullable=False),
        sa.Column("paid_date", sa.Date),
        sa.UniqueConstraint("customer_id", "period", name="uq_bills_customer_period"),
    )
    op.create_index("ix_bills_unpaid", "bills", ["customer_id", "paid"])
    op.create_table(
        "outage_windows",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("district_company_id", sa.Integer, sa.ForeignKey("district_companies.id"),
                  nullable=False),
        sa.Column("area", sa.String(64)),
        sa.Column("feeder", sa.String(32)),
        sa.Column("starts_at", sa.DateTime, nullable=False),
        sa.Column("ends_at", sa.DateTime, nullable=False),
        sa.Column("reason", sa.String(256), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
    )
    op.create_index("ix_outage_windows_feeder", "outage_windows", ["feeder", "starts_at"])
    op.create_index("ix_outage_windows_area", "outage_windows", ["area", "starts_at"])
    op.create_table(
        "requests",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("number", sa.String(12), nullable=False, unique=True),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.id")),
        sa.Column("district_company_id", sa.Integer, sa.ForeignKey("district_companies.id")),
        sa.Column("caller_number", sa.String(32), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("deadline_at", sa.DateTime, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("escalation_level", sa.Integer, nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
    )
    op.create_index("ix_requests_customer_id", "requests", ["customer_id"])
    op.create_index("ix_requests_caller_number", "requests", ["caller_number"])
    op.create_index("ix_requests_open_deadline", "requests", ["status", "deadline_at"])
    op.create_table(
        "request_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("request_id", sa.Integer, sa.ForeignKey("requests.id"), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("escalation_level", sa.Integer, nullable=False),
    )
    op.create_index("ix_request_events_request_id", "request_events", ["request_id"])
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("customer_id", sa.Integer))
        batch.add_column(sa.Column("queue_wait_s", sa.Float))
        batch.add_column(sa.Column("wrap_up_code", sa.String(32)))
        batch.create_index("ix_calls_customer_id", ["customer_id"])
        batch.create_foreign_key("fk_calls_customer_id", "customers", ["customer_id"], ["id"])
    op.create_table(
        "call_requests",
        sa.Column("call_id", sa.Integer, sa.ForeignKey("calls.id"), primary_key=True),
        sa.Column("request_id", sa.Integer, sa.ForeignKey("requests.id"), primary_key=True),
        sa.Column("relation", sa.String(16), nullable=False),
    )
    op.create_index("ix_call_requests_request_id", "call_requests", ["request_id"])


def downgrade() -> None:
    op.drop_table("call_requests")
    with op.batch_alter_table("calls") as batch:
        batch.drop_constraint("fk_calls_customer_id", type_="foreignkey")
        batch.drop_index("ix_calls_customer_id")
        batch.drop_column("wrap_up_code")
        batch.drop_column("queue_wait_s")
        batch.drop_column("customer_id")
    op.drop_table("request_events")
    op.drop_table("requests")
    op.drop_table("outage_windows")
    op.drop_table("bills")
    op.drop_table("customer_phones")
    op.drop_table("customers")
    op.drop_table("district_companies")
