"""edi staging: the line of each staged record in the received file

The ACCUSE, the landlord's dashboard and the API showed the record's rank as its line (or no
line at all); the reader knows the line of each record's start tag, now kept with it.

Revision ID: edi_0003
Revises: edi_0002
Create Date: 2026-12-01 23:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'edi_0003'
down_revision = 'edi_0002'
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN (nullable, no default) on both backends: no table rewrite.
    op.add_column('edi_enregistrements', sa.Column('ligne', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('edi_enregistrements', schema=None) as batch_op:
        batch_op.drop_column('ligne')
