"""account security: pending TOTP secret during MFA enrolment

Revision ID: portal_0002
Revises: portal_0001
Create Date: 2026-11-23 16:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = "portal_0002"
down_revision = "portal_0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("totp_pending_secret", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("totp_pending_secret")
