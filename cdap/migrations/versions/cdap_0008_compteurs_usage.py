"""cdap: running counts of each actor's attempts, for the atypical-use rules

A consultation counted the actor's journal rows of the day, of the night and the latest
outcomes (an index range as long as the suspension threshold, up to 100,000); it now reads one
row, kept up to date in the statement that appends the journal row (issue #22). No data step:
an actor without a row is counted from the journal at its next attempt, and its row starts
from that count (cdap.atypical).

Revision ID: cdap_0008_compteurs_usage
Revises: cdap_0007_cle_loyer_octets
Create Date: 2026-12-07 21:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'cdap_0008_compteurs_usage'
down_revision = 'cdap_0007_cle_loyer_octets'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('cdap_compteurs_usage',
    sa.Column('actor', sa.String(length=40), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('day_count', sa.Integer(), nullable=False),
    sa.Column('night_start', sa.DateTime(), nullable=True),
    sa.Column('night_count', sa.Integer(), nullable=False),
    sa.Column('miss_streak', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('actor', name=op.f('pk_cdap_compteurs_usage'))
    )


def downgrade():
    op.drop_table('cdap_compteurs_usage')
