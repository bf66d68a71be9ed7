"""attachments of the declaration thread's messages

The Caf asks for documents and the partner answers with PDF, images or spreadsheets (issue
#19): one row per file, its bytes in the content-addressed store (STORAGE_DIR/afas).

Revision ID: afas_0004_message_attachments
Revises: afas_0003
Create Date: 2026-12-07 00:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = "afas_0004_message_attachments"
down_revision = "afas_0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "afas_message_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("declaration_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("mimetype", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["declaration_id"], ["afas_declarations.id"]),
        sa.ForeignKeyConstraint(["message_id"], ["afas_messages.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_afas_message_attachments_declaration_id"), "afas_message_attachments",
                    ["declaration_id"])
    op.create_index(op.f("ix_afas_message_attachments_message_id"), "afas_message_attachments",
                    ["message_id"])


def downgrade():
    op.drop_index(op.f("ix_afas_message_attachments_message_id"), table_name="afas_message_attachments")
    op.drop_index(op.f("ix_afas_message_attachments_declaration_id"), table_name="afas_message_attachments")
    op.drop_table("afas_message_attachments")
