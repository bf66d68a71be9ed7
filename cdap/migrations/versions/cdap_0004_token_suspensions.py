"""cdap: suspension of API tokens by the atypical-use rules

An API token has no habilitation (it belongs to the organisation, not to a user), so the
second threshold of the atypical-use rules had nothing to suspend and a token could go on
guessing numéro + name pairs. The token's CDAP suspension is kept here, one row per token.

Revision ID: cdap_0004
Revises: cdap_0003
Create Date: 2026-12-01 23:55:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'cdap_0004'
down_revision = 'cdap_0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('cdap_suspensions_jetons',
    sa.Column('api_token_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('suspended_until', sa.DateTime(), nullable=True),
    sa.Column('motif', sa.String(length=200), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['api_token_id'], ['api_tokens.id'],
                            name=op.f('fk_cdap_suspensions_jetons_api_token_id_api_tokens'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('api_token_id', name=op.f('pk_cdap_suspensions_jetons'))
    )


def downgrade():
    op.drop_table('cdap_suspensions_jetons')
