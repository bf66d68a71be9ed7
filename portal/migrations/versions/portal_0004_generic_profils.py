"""generic habilitation profiles: contrats.cdap_profiles -> profils, habilitations.cdap_profile
and api_tokens.cdap_profile -> profil

The shell stores a service's habilitation options without knowing the service (the domains
declare them through portal.registry); the values are kept as they are.

Revision ID: portal_0004
Revises: portal_0003
Create Date: 2026-12-08 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = "portal_0004"
down_revision = "portal_0003"
branch_labels = None
depends_on = None

# (table, old name, new name, type, nullable)
RENAMES = [
    ("contrats", "cdap_profiles", "profils", sa.JSON(), False),
    ("habilitations", "cdap_profile", "profil", sa.String(length=40), True),
    ("api_tokens", "cdap_profile", "profil", sa.String(length=40), True),
]


def upgrade():
    for table, old, new, type_, nullable in RENAMES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column(old, new_column_name=new, existing_type=type_,
                                  existing_nullable=nullable)


def downgrade():
    for table, old, new, type_, nullable in RENAMES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column(new, new_column_name=old, existing_type=type_,
                                  existing_nullable=nullable)
