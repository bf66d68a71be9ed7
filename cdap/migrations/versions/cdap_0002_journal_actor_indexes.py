"""cdap journal: indexes for the atypical-use checks of every consultation

The checks after each journal row count the actor's rows of the day and read its last rows in
sequence order. Per user, (user_id, at) served the count but the "not found in a row" streak had
to sort all of the user's rows; per API token nothing was indexed, so both checks scanned the
day's journal of every actor. With these the checks cost a few index entries whatever the size
of the journal.

Revision ID: cdap_0002
Revises: cdap_0001
Create Date: 2026-12-01 08:20:00
"""
from alembic import op


revision = 'cdap_0002'
down_revision = 'cdap_0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cdap_journal', schema=None) as batch_op:
        batch_op.create_index('ix_cdap_journal_user_seq', ['user_id', 'seq'], unique=False)
        batch_op.create_index('ix_cdap_journal_token_at', ['api_token_id', 'at'], unique=False)
        batch_op.create_index('ix_cdap_journal_token_seq', ['api_token_id', 'seq'], unique=False)


def downgrade():
    with op.batch_alter_table('cdap_journal', schema=None) as batch_op:
        batch_op.drop_index('ix_cdap_journal_token_seq')
        batch_op.drop_index('ix_cdap_journal_token_at')
        batch_op.drop_index('ix_cdap_journal_user_seq')
