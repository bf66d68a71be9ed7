"""cdap impayé queue: the territory is the allocataire's current département

The queue item kept a copy of the allocataire's département taken when the signalement arrived:
after a move (re-import of the Caf's extract) the old territory still saw the item and the new
one never did. The queue now joins the allocataire and filters on its département; the copy
and its (departement, statut) index go. New indexes serve the join from the allocataire and the
Caf agents' queue (statut, echeance).

Revision ID: cdap_0005
Revises: cdap_0004
Create Date: 2026-12-01 23:55:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'cdap_0005'
down_revision = 'cdap_0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cdap_file_impayes', schema=None) as batch_op:
        batch_op.drop_index('ix_cdap_file_impayes_dep_statut')
        batch_op.drop_column('departement')
        batch_op.create_index('ix_cdap_file_impayes_allocataire_statut', ['allocataire_id', 'statut'], unique=False)
        batch_op.create_index('ix_cdap_file_impayes_statut_echeance', ['statut', 'echeance'], unique=False)


def downgrade():
    with op.batch_alter_table('cdap_file_impayes', schema=None) as batch_op:
        batch_op.drop_index('ix_cdap_file_impayes_statut_echeance')
        batch_op.drop_index('ix_cdap_file_impayes_allocataire_statut')
        batch_op.add_column(sa.Column('departement', sa.String(length=3), nullable=True))
    op.execute("UPDATE cdap_file_impayes SET departement = (SELECT a.departement FROM cdap_allocataires a "
               "WHERE a.id = cdap_file_impayes.allocataire_id)")
    with op.batch_alter_table('cdap_file_impayes', schema=None) as batch_op:
        batch_op.alter_column('departement', existing_type=sa.String(length=3), nullable=False)
        batch_op.create_index('ix_cdap_file_impayes_dep_statut', ['departement', 'statut'], unique=False)
