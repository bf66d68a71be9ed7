"""edi: landlords' web declarations (espace bailleur) and their attachments

Revision ID: edi_0005_declarations_web
Revises: edi_0004
Create Date: 2026-12-07 00:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'edi_0005_declarations_web'
down_revision = 'edi_0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'edi_declarations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('acte', sa.String(length=12), nullable=False),
        sa.Column('statut', sa.String(length=12), nullable=False),
        sa.Column('saisie', sa.JSON(), nullable=False),
        sa.Column('cree_par_id', sa.Integer(), nullable=True),
        sa.Column('cree_le', sa.DateTime(), nullable=False),
        sa.Column('modifie_le', sa.DateTime(), nullable=False),
        sa.Column('envoye_par_id', sa.Integer(), nullable=True),
        sa.Column('envoye_le', sa.DateTime(), nullable=True),
        sa.Column('code_bailleur', sa.String(length=20), nullable=True),
        sa.Column('code_locataire', sa.String(length=30), nullable=True),
        sa.Column('numero_allocataire', sa.String(length=20), nullable=True),
        sa.Column('enregistrement', sa.JSON(), nullable=True),
        sa.Column('idempotency_key', sa.String(length=120), nullable=True),
        sa.Column('code', sa.String(length=40), nullable=True),
        sa.Column('libelle', sa.Text(), nullable=True),
        sa.Column('severite', sa.String(length=14), nullable=True),
        sa.Column('empreinte', sa.String(length=64), nullable=True),
        sa.Column('recu_sha256', sa.String(length=64), nullable=True),
        sa.Column('recu_signature_sha256', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id']),
        sa.ForeignKeyConstraint(['cree_par_id'], ['users.id']),
        sa.ForeignKeyConstraint(['envoye_par_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('idempotency_key'),
    )
    op.create_index('ix_edi_declarations_org_statut', 'edi_declarations', ['organisation_id', 'statut'])
    op.create_index('ix_edi_declarations_code_locataire', 'edi_declarations', ['code_locataire'])
    op.create_table(
        'edi_declaration_pieces',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('declaration_id', sa.Integer(), nullable=False),
        sa.Column('nature', sa.String(length=16), nullable=False),
        sa.Column('nom', sa.String(length=255), nullable=False),
        sa.Column('type_mime', sa.String(length=60), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('taille', sa.BigInteger(), nullable=False),
        sa.Column('ajoute_par_id', sa.Integer(), nullable=True),
        sa.Column('ajoute_le', sa.DateTime(), nullable=False),
        sa.Column('rang', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['declaration_id'], ['edi_declarations.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['ajoute_par_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_edi_declaration_pieces_declaration_id', 'edi_declaration_pieces', ['declaration_id'])


def downgrade():
    op.drop_index('ix_edi_declaration_pieces_declaration_id', table_name='edi_declaration_pieces')
    op.drop_table('edi_declaration_pieces')
    op.drop_index('ix_edi_declarations_code_locataire', table_name='edi_declarations')
    op.drop_index('ix_edi_declarations_org_statut', table_name='edi_declarations')
    op.drop_table('edi_declarations')
