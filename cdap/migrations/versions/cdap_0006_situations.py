"""cdap unpaid-rent cases (« situations »): the case of a queue item, its contact attempts,
appointments, actions and eviction-procedure stages (cdap.situations.models)

Revision ID: cdap_0006_situations
Revises: cdap_0005
Create Date: 2026-12-07 00:09:30
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'cdap_0006_situations'
down_revision = 'cdap_0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('cdap_situations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('queue_item_id', sa.Integer(), nullable=False),
    sa.Column('taken_at', sa.DateTime(), nullable=False),
    sa.Column('first_contact_on', sa.Date(), nullable=True),
    sa.Column('mode', sa.String(length=24), nullable=True),
    sa.Column('ressources_cents', sa.Integer(), nullable=True),
    sa.Column('charges_cents', sa.Integer(), nullable=True),
    sa.Column('personnes', sa.Integer(), nullable=True),
    sa.Column('droits_a_verifier', sa.JSON(), nullable=False),
    sa.Column('capacite', sa.String(length=10), nullable=True),
    sa.Column('maintien', sa.String(length=16), nullable=True),
    sa.Column('maintien_motif', sa.String(length=300), nullable=True),
    sa.Column('maintien_mois', sa.Integer(), nullable=True),
    sa.Column('maintien_on', sa.Date(), nullable=True),
    sa.Column('maintien_by_id', sa.Integer(), nullable=True),
    sa.Column('issue', sa.String(length=24), nullable=True),
    sa.Column('minutes', sa.Integer(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['maintien_by_id'], ['users.id'], name=op.f('fk_cdap_situations_maintien_by_id_users')),
    sa.ForeignKeyConstraint(['queue_item_id'], ['cdap_file_impayes.id'], name=op.f('fk_cdap_situations_queue_item_id_cdap_file_impayes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cdap_situations')),
    sa.UniqueConstraint('queue_item_id', name=op.f('uq_cdap_situations_queue_item_id'))
    )
    with op.batch_alter_table('cdap_situations', schema=None) as batch_op:
        batch_op.create_index('ix_cdap_situations_closed', ['closed_at'], unique=False)

    op.create_table('cdap_situation_actions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('situation_id', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=24), nullable=False),
    sa.Column('statut', sa.String(length=10), nullable=False),
    sa.Column('on', sa.Date(), nullable=False),
    sa.Column('detail', sa.String(length=200), nullable=True),
    sa.Column('montant_mensuel_cents', sa.Integer(), nullable=True),
    sa.Column('duree_mois', sa.Integer(), nullable=True),
    sa.Column('debut', sa.Date(), nullable=True),
    sa.Column('accord_bailleur', sa.Boolean(), nullable=False),
    sa.Column('accord_bailleur_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['situation_id'], ['cdap_situations.id'], name=op.f('fk_cdap_situation_actions_situation_id_cdap_situations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cdap_situation_actions'))
    )
    with op.batch_alter_table('cdap_situation_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cdap_situation_actions_situation_id'), ['situation_id'], unique=False)

    op.create_table('cdap_situation_contacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('situation_id', sa.Integer(), nullable=False),
    sa.Column('on', sa.Date(), nullable=False),
    sa.Column('canal', sa.String(length=12), nullable=False),
    sa.Column('resultat', sa.String(length=14), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['by_id'], ['users.id'], name=op.f('fk_cdap_situation_contacts_by_id_users')),
    sa.ForeignKeyConstraint(['situation_id'], ['cdap_situations.id'], name=op.f('fk_cdap_situation_contacts_situation_id_cdap_situations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cdap_situation_contacts'))
    )
    with op.batch_alter_table('cdap_situation_contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cdap_situation_contacts_situation_id'), ['situation_id'], unique=False)

    op.create_table('cdap_situation_procedure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('situation_id', sa.Integer(), nullable=False),
    sa.Column('etape', sa.String(length=24), nullable=False),
    sa.Column('on', sa.Date(), nullable=False),
    sa.Column('by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['by_id'], ['users.id'], name=op.f('fk_cdap_situation_procedure_by_id_users')),
    sa.ForeignKeyConstraint(['situation_id'], ['cdap_situations.id'], name=op.f('fk_cdap_situation_procedure_situation_id_cdap_situations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cdap_situation_procedure'))
    )
    with op.batch_alter_table('cdap_situation_procedure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cdap_situation_procedure_situation_id'), ['situation_id'], unique=False)

    op.create_table('cdap_situation_rdv',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('situation_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('modalite', sa.String(length=12), nullable=False),
    sa.Column('statut', sa.String(length=10), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['situation_id'], ['cdap_situations.id'], name=op.f('fk_cdap_situation_rdv_situation_id_cdap_situations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cdap_situation_rdv'))
    )
    with op.batch_alter_table('cdap_situation_rdv', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cdap_situation_rdv_situation_id'), ['situation_id'], unique=False)



def downgrade():
    with op.batch_alter_table('cdap_situation_rdv', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cdap_situation_rdv_situation_id'))

    op.drop_table('cdap_situation_rdv')
    with op.batch_alter_table('cdap_situation_procedure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cdap_situation_procedure_situation_id'))

    op.drop_table('cdap_situation_procedure')
    with op.batch_alter_table('cdap_situation_contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cdap_situation_contacts_situation_id'))

    op.drop_table('cdap_situation_contacts')
    with op.batch_alter_table('cdap_situation_actions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cdap_situation_actions_situation_id'))

    op.drop_table('cdap_situation_actions')
    with op.batch_alter_table('cdap_situations', schema=None) as batch_op:
        batch_op.drop_index('ix_cdap_situations_closed')

    op.drop_table('cdap_situations')
