"""afas: payment hand-off — order files and lines, return files, indus, bank references (#21)

Revision ID: afas_0005_paiement
Revises: afas_0004_message_attachments
Create Date: 2026-12-07 01:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'afas_0005_paiement'
down_revision = "afas_0004_message_attachments"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'afas_paiement_coordonnees',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('reference', sa.String(length=35), nullable=False),
        sa.Column('recorded_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                                name=op.f('fk_afas_paiement_coordonnees_organisation_id_organisations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_afas_paiement_coordonnees')),
        sa.UniqueConstraint('organisation_id', name=op.f('uq_afas_paiement_coordonnees_organisation_id')),
    )
    op.create_table(
        'afas_paiement_ordres',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('reference', sa.String(length=40), nullable=False),
        sa.Column('jour', sa.Date(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('nb_lignes', sa.Integer(), nullable=False),
        sa.Column('total_versements', sa.Integer(), nullable=False),
        sa.Column('total_recouvrements', sa.Integer(), nullable=False),
        sa.Column('xml', sa.LargeBinary(), nullable=False),
        sa.Column('signature', sa.LargeBinary(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_afas_paiement_ordres')),
        sa.UniqueConstraint('reference', name=op.f('uq_afas_paiement_ordres_reference')),
    )
    op.create_index(op.f('ix_afas_paiement_ordres_jour'), 'afas_paiement_ordres', ['jour'], unique=False)
    op.create_table(
        'afas_indus',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('regularisation_id', sa.Integer(), nullable=False),
        sa.Column('declaration_id', sa.Integer(), nullable=False),
        sa.Column('equipement_id', sa.Integer(), nullable=False),
        sa.Column('annee', sa.Integer(), nullable=False),
        sa.Column('montant', sa.Integer(), nullable=False),
        sa.Column('reste', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('notifie_le', sa.DateTime(), nullable=False),
        sa.Column('avis', sa.Text(), nullable=False),
        sa.Column('choix_le', sa.DateTime(), nullable=True),
        sa.Column('choix_par_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['regularisation_id'], ['afas_regularisations.id'],
                                name=op.f('fk_afas_indus_regularisation_id_afas_regularisations')),
        sa.ForeignKeyConstraint(['declaration_id'], ['afas_declarations.id'],
                                name=op.f('fk_afas_indus_declaration_id_afas_declarations')),
        sa.ForeignKeyConstraint(['equipement_id'], ['afas_equipements.id'],
                                name=op.f('fk_afas_indus_equipement_id_afas_equipements')),
        sa.ForeignKeyConstraint(['choix_par_id'], ['users.id'], name=op.f('fk_afas_indus_choix_par_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_afas_indus')),
        sa.UniqueConstraint('regularisation_id', name=op.f('uq_afas_indus_regularisation_id')),
    )
    op.create_index(op.f('ix_afas_indus_declaration_id'), 'afas_indus', ['declaration_id'], unique=False)
    op.create_index(op.f('ix_afas_indus_equipement_id'), 'afas_indus', ['equipement_id'], unique=False)
    op.create_table(
        'afas_paiement_retours',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('reference', sa.String(length=40), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('received_at', sa.DateTime(), nullable=False),
        sa.Column('received_by_id', sa.Integer(), nullable=True),
        sa.Column('via', sa.String(length=8), nullable=False),
        sa.Column('xml', sa.LargeBinary(), nullable=False),
        sa.Column('signature', sa.LargeBinary(), nullable=False),
        sa.Column('nb_payees', sa.Integer(), nullable=False),
        sa.Column('nb_rejetees', sa.Integer(), nullable=False),
        sa.Column('nb_deja_traitees', sa.Integer(), nullable=False),
        sa.Column('rejeu', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['received_by_id'], ['users.id'],
                                name=op.f('fk_afas_paiement_retours_received_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_afas_paiement_retours')),
    )
    op.create_index(op.f('ix_afas_paiement_retours_sha256'), 'afas_paiement_retours', ['sha256'], unique=False)
    op.create_table(
        'afas_paiement_lignes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ordre_id', sa.Integer(), nullable=False),
        sa.Column('reference', sa.String(length=40), nullable=False),
        sa.Column('nature', sa.String(length=16), nullable=False),
        sa.Column('source_id', sa.Integer(), nullable=False),
        sa.Column('tentative', sa.Integer(), nullable=False),
        sa.Column('numero_acompte', sa.Integer(), nullable=True),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('equipement_id', sa.Integer(), nullable=False),
        sa.Column('declaration_id', sa.Integer(), nullable=False),
        sa.Column('version_numero', sa.Integer(), nullable=False),
        sa.Column('annee', sa.Integer(), nullable=False),
        sa.Column('siret', sa.String(length=14), nullable=False),
        sa.Column('iban_reference', sa.String(length=35), nullable=False),
        sa.Column('montant_brut', sa.Integer(), nullable=False),
        sa.Column('compensation', sa.Integer(), nullable=False),
        sa.Column('indu_id', sa.Integer(), nullable=True),
        sa.Column('montant', sa.Integer(), nullable=False),
        sa.Column('echeance', sa.Date(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('paye_le', sa.Date(), nullable=True),
        sa.Column('motif_rejet', sa.String(length=200), nullable=True),
        sa.Column('retour_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['ordre_id'], ['afas_paiement_ordres.id'],
                                name=op.f('fk_afas_paiement_lignes_ordre_id_afas_paiement_ordres')),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                                name=op.f('fk_afas_paiement_lignes_organisation_id_organisations')),
        sa.ForeignKeyConstraint(['equipement_id'], ['afas_equipements.id'],
                                name=op.f('fk_afas_paiement_lignes_equipement_id_afas_equipements')),
        sa.ForeignKeyConstraint(['declaration_id'], ['afas_declarations.id'],
                                name=op.f('fk_afas_paiement_lignes_declaration_id_afas_declarations')),
        sa.ForeignKeyConstraint(['indu_id'], ['afas_indus.id'], name=op.f('fk_afas_paiement_lignes_indu_id_afas_indus')),
        sa.ForeignKeyConstraint(['retour_id'], ['afas_paiement_retours.id'],
                                name=op.f('fk_afas_paiement_lignes_retour_id_afas_paiement_retours')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_afas_paiement_lignes')),
        sa.UniqueConstraint('reference', name=op.f('uq_afas_paiement_lignes_reference')),
        sa.UniqueConstraint('nature', 'source_id', 'tentative', name=op.f('uq_afas_paiement_lignes_nature')),
    )
    for col in ('ordre_id', 'organisation_id', 'equipement_id', 'declaration_id', 'status'):
        op.create_index(op.f(f'ix_afas_paiement_lignes_{col}'), 'afas_paiement_lignes', [col], unique=False)


def downgrade():
    for col in ('ordre_id', 'organisation_id', 'equipement_id', 'declaration_id', 'status'):
        op.drop_index(op.f(f'ix_afas_paiement_lignes_{col}'), table_name='afas_paiement_lignes')
    op.drop_table('afas_paiement_lignes')
    op.drop_index(op.f('ix_afas_paiement_retours_sha256'), table_name='afas_paiement_retours')
    op.drop_table('afas_paiement_retours')
    op.drop_index(op.f('ix_afas_indus_equipement_id'), table_name='afas_indus')
    op.drop_index(op.f('ix_afas_indus_declaration_id'), table_name='afas_indus')
    op.drop_table('afas_indus')
    op.drop_index(op.f('ix_afas_paiement_ordres_jour'), table_name='afas_paiement_ordres')
    op.drop_table('afas_paiement_ordres')
    op.drop_table('afas_paiement_coordonnees')
