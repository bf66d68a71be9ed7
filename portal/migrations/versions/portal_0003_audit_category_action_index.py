"""audit trail: index for the latest chain verification lookup (category, action, seq)

Revision ID: portal_0003
Revises: portal_0002
Create Date: 2026-12-01 09:30:00

"""
from alembic import op


revision = "portal_0003"
down_revision = "portal_0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("audit_entries") as batch_op:
        batch_op.create_index("ix_audit_entries_category_action_seq", ["category", "action", "seq"],
                              unique=False)


def downgrade():
    with op.batch_alter_table("audit_entries") as batch_op:
        batch_op.drop_index("ix_audit_entries_category_action_seq")
