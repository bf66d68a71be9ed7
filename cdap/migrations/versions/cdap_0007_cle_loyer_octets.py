"""cdap_loyers_historique.idempotency_key in byte order (COLLATE "C") on PostgreSQL: the key
is only compared for equality (its unique index is the idempotency of EDI LOYERS files) and
the database collation's strcoll cost ≈ 0.15 s of server CPU per 100,000 rows inserted
(issue #22, bench/README.md). The column keeps its type; PostgreSQL rebuilds the unique
index, without rewriting the table. Nothing to do on SQLite (binary comparison already).

Revision ID: cdap_0007_cle_loyer_octets
Revises: cdap_0006_situations
Create Date: 2026-12-07 10:35:00
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'cdap_0007_cle_loyer_octets'
down_revision = 'cdap_0006_situations'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute('ALTER TABLE cdap_loyers_historique '
                   'ALTER COLUMN idempotency_key TYPE varchar(120) COLLATE "C"')


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute('ALTER TABLE cdap_loyers_historique '
                   'ALTER COLUMN idempotency_key TYPE varchar(120) COLLATE "default"')
