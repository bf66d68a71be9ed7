"""cdap rents: the current rent is the latest history row

A LOYERS file no longer rewrites each dwelling: the current rent is read as the latest row of
cdap_loyers_historique (by date d'effet, then id). The index on logement_id alone becomes
(logement_id, date_effet, id), which serves both the history of a dwelling and that lookup.
The foreign key to cdap_logements goes: rows are only inserted joined to the dwelling, dwellings
are never deleted, and its per-row trigger was a third of a large file's database time.

Revision ID: cdap_0003
Revises: cdap_0002
Create Date: 2026-12-01 10:40:00
"""
from alembic import op


revision = 'cdap_0003'
down_revision = 'cdap_0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cdap_loyers_historique', schema=None) as batch_op:
        batch_op.create_index('ix_cdap_loyers_historique_courant',
                              ['logement_id', 'date_effet', 'id'], unique=False)
        batch_op.drop_index('ix_cdap_loyers_historique_logement_id')
        batch_op.drop_constraint('fk_cdap_loyers_historique_logement_id_cdap_logements',
                                 type_='foreignkey')


def downgrade():
    with op.batch_alter_table('cdap_loyers_historique', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_cdap_loyers_historique_logement_id_cdap_logements',
                                    'cdap_logements', ['logement_id'], ['id'], ondelete='CASCADE')
        batch_op.create_index('ix_cdap_loyers_historique_logement_id', ['logement_id'], unique=False)
        batch_op.drop_index('ix_cdap_loyers_historique_courant')
