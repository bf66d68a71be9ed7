"""edi files: English technical names for the columns that mirror the job

`edi_fichiers.livraisons` and `edi_fichiers.bail_expire_le` mirror the job's `deliveries` and
`lease_expires_at`. « Bail » is a rental lease in this domain and these are technical job
columns: they become `job_deliveries` and `job_lease_expires_at` (values kept).

Revision ID: edi_0004
Revises: edi_0003
Create Date: 2026-12-06 22:15:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'edi_0004'
down_revision = 'edi_0003'
branch_labels = None
depends_on = None


# A plain ALTER TABLE ... RENAME COLUMN on both backends (SQLite >= 3.25, PostgreSQL): values,
# indexes and constraints stay, and no table is rewritten. Not batch mode: on SQLite it would copy
# edi_fichiers into a new table and drop the old one, which the foreign keys from the files'
# records, ACCUSE rows and duplicates (PRAGMA foreign_keys=ON, portal.database) forbid as soon as
# any file has them.

def upgrade():
    op.alter_column('edi_fichiers', 'livraisons', new_column_name='job_deliveries',
                    existing_type=sa.Integer(), existing_nullable=False)
    op.alter_column('edi_fichiers', 'bail_expire_le', new_column_name='job_lease_expires_at',
                    existing_type=sa.DateTime(), existing_nullable=True)


def downgrade():
    op.alter_column('edi_fichiers', 'job_deliveries', new_column_name='livraisons',
                    existing_type=sa.Integer(), existing_nullable=False)
    op.alter_column('edi_fichiers', 'job_lease_expires_at', new_column_name='bail_expire_le',
                    existing_type=sa.DateTime(), existing_nullable=True)
