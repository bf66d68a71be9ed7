"""afas: territoire of an équipement, conventions de financement, barème versions (#21)

Revision ID: afas_0003
Revises: afas_0002
Create Date: 2026-12-07 00:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'afas_0003'
down_revision = 'afas_0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('afas_equipements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('zone_prioritaire', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('ctg', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('places_territoire', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('territoire_valide_le', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('territoire_valide_par_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_afas_equipements_territoire_valide_par_id_users'),
                                    'users', ['territoire_valide_par_id'], ['id'])
    op.create_table(
        'afas_conventions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('equipement_id', sa.Integer(), nullable=False),
        sa.Column('reference', sa.String(length=50), nullable=False),
        sa.Column('debut', sa.Date(), nullable=False),
        sa.Column('fin', sa.Date(), nullable=False),
        sa.Column('signee_le', sa.Date(), nullable=True),
        sa.Column('document_nom', sa.String(length=200), nullable=True),
        sa.Column('document', sa.LargeBinary(), nullable=True),
        sa.Column('document_sha256', sa.String(length=64), nullable=True),
        sa.Column('deposee_par_id', sa.Integer(), nullable=True),
        sa.Column('deposee_le', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['equipement_id'], ['afas_equipements.id'],
                                name=op.f('fk_afas_conventions_equipement_id_afas_equipements')),
        sa.ForeignKeyConstraint(['deposee_par_id'], ['users.id'], name=op.f('fk_afas_conventions_deposee_par_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_afas_conventions')),
    )
    with op.batch_alter_table('afas_conventions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_afas_conventions_equipement_id'), ['equipement_id'], unique=False)
    op.create_table(
        'afas_bareme_versions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('annee', sa.Integer(), nullable=False),
        sa.Column('numero', sa.Integer(), nullable=False),
        sa.Column('doc', sa.JSON(), nullable=False),
        sa.Column('diff', sa.JSON(), nullable=False),
        sa.Column('imported_at', sa.DateTime(), nullable=False),
        sa.Column('imported_by_id', sa.Integer(), nullable=True),
        sa.Column('source', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['imported_by_id'], ['users.id'],
                                name=op.f('fk_afas_bareme_versions_imported_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_afas_bareme_versions')),
        sa.UniqueConstraint('annee', 'numero', name=op.f('uq_afas_bareme_versions_annee')),
    )
    with op.batch_alter_table('afas_declaration_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bareme_version_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_afas_declaration_versions_bareme_version_id_afas_bareme_versions'),
                                    'afas_bareme_versions', ['bareme_version_id'], ['id'])


def downgrade():
    with op.batch_alter_table('afas_declaration_versions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_afas_declaration_versions_bareme_version_id_afas_bareme_versions'),
                                 type_='foreignkey')
        batch_op.drop_column('bareme_version_id')
    op.drop_table('afas_bareme_versions')
    with op.batch_alter_table('afas_conventions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_afas_conventions_equipement_id'))
    op.drop_table('afas_conventions')
    with op.batch_alter_table('afas_equipements', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_afas_equipements_territoire_valide_par_id_users'), type_='foreignkey')
        batch_op.drop_column('territoire_valide_par_id')
        batch_op.drop_column('territoire_valide_le')
        batch_op.drop_column('places_territoire')
        batch_op.drop_column('ctg')
        batch_op.drop_column('zone_prioritaire')
