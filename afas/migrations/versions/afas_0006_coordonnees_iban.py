"""afas: the partner's IBAN, BIC and account holder entered by the Caf agent (#21)

Revision ID: afas_0006_coordonnees_iban
Revises: afas_0005_paiement
Create Date: 2026-12-07 04:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'afas_0006_coordonnees_iban'
down_revision = "afas_0005_paiement"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('afas_paiement_coordonnees', schema=None) as batch_op:
        batch_op.add_column(sa.Column('iban', sa.String(length=34), nullable=True))
        batch_op.add_column(sa.Column('bic', sa.String(length=11), nullable=True))
        batch_op.add_column(sa.Column('titulaire', sa.String(length=70), nullable=True))
        batch_op.add_column(sa.Column('recorded_by_id', sa.Integer(), nullable=True))
        batch_op.alter_column('reference', existing_type=sa.String(length=35), nullable=True)
        batch_op.create_foreign_key(batch_op.f('fk_afas_paiement_coordonnees_recorded_by_id_users'), 'users',
                                    ['recorded_by_id'], ['id'])


def downgrade():
    with op.batch_alter_table('afas_paiement_coordonnees', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_afas_paiement_coordonnees_recorded_by_id_users'), type_='foreignkey')
        batch_op.drop_column('recorded_by_id')
        batch_op.drop_column('titulaire')
        batch_op.drop_column('bic')
        batch_op.drop_column('iban')
    # Rows without a former reference cannot go back to a NOT NULL column: give them one.
    op.execute("UPDATE afas_paiement_coordonnees SET reference = 'IBAN-' || id WHERE reference IS NULL")
    with op.batch_alter_table('afas_paiement_coordonnees', schema=None) as batch_op:
        batch_op.alter_column('reference', existing_type=sa.String(length=35), nullable=False)
