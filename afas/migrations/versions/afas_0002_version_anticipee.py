"""afas: flag a version transmitted before its campaign window opened

Revision ID: afas_0002
Revises: afas_0001
Create Date: 2026-12-01 23:50:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'afas_0002'
down_revision = 'afas_0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('afas_declaration_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('anticipee', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('afas_declaration_versions', schema=None) as batch_op:
        batch_op.drop_column('anticipee')
