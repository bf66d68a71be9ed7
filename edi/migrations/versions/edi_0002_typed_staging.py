"""edi staging: typed record columns instead of JSON, applied watermark on the file

The staged record's values move from the `donnees` JSON column to typed columns (the COPY of a
large file no longer JSON-encodes every record, and PostgreSQL applies LOYERS straight from the
staging table); the per-row `applique` flag becomes `edi_fichiers.rang_applique` (one value
updated per applied batch instead of every staged row). Existing rows are converted.

Revision ID: edi_0002
Revises: edi_0001
Create Date: 2026-11-23 19:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'edi_0002'
down_revision = 'edi_0001'
branch_labels = None
depends_on = None

TYPED = [
    ('code_agence', sa.String(length=20), 'text'),
    ('loyer_cents', sa.BigInteger(), 'bigint'),
    ('charges_cents', sa.BigInteger(), 'bigint'),
    ('date_effet', sa.Date(), 'date'),
    ('nb_colocataires', sa.Integer(), 'integer'),
    ('type_mouvement', sa.String(length=10), 'text'),
    ('date_mouvement', sa.Date(), 'date'),
    ('montant_dette_cents', sa.BigInteger(), 'bigint'),
    ('loyer_mensuel_cents', sa.BigInteger(), 'bigint'),
    ('date_constitution', sa.Date(), 'date'),
    ('periode_debut', sa.Date(), 'date'),
    ('periode_fin', sa.Date(), 'date'),
    ('plan_apurement', sa.Boolean(), 'boolean'),
]
JSON_KEY = {'type_mouvement': 'type'}
ANOMALY = "severite IN ('ERREUR', 'AVERTISSEMENT')"  # column -> key in the old `donnees` JSON


def upgrade():
    with op.batch_alter_table('edi_fichiers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rang_applique', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('edi_enregistrements', schema=None) as batch_op:
        for name, type_, _sql in TYPED:
            batch_op.add_column(sa.Column(name, type_, nullable=True))

    postgresql = op.get_bind().dialect.name == 'postgresql'
    sets = []
    for name, _type, sql in TYPED:
        key = JSON_KEY.get(name, name)
        if postgresql:
            sets.append(f"{name} = CAST(donnees->>'{key}' AS {sql})")
        elif sql == 'boolean':
            sets.append(f"{name} = CASE json_extract(donnees, '$.{key}') WHEN 1 THEN 1 WHEN 0 THEN 0 END")
        else:
            sets.append(f"{name} = json_extract(donnees, '$.{key}')")
    op.execute(f"UPDATE edi_enregistrements SET {', '.join(sets)}")
    # Files whose batches were applied: the watermark is the last applied rank.
    op.execute("UPDATE edi_fichiers SET rang_applique = COALESCE((SELECT MAX(e.rang) FROM edi_enregistrements e "
               "WHERE e.fichier_id = edi_fichiers.id AND e.applique), 0)")

    with op.batch_alter_table('edi_enregistrements', schema=None) as batch_op:
        batch_op.drop_column('donnees')
        batch_op.drop_column('applique')
        # One index on the bulk path: (file, rank) becomes the primary key (the surrogate id
        # and its sequence go), the code index keeps only the records with an anomaly.
        batch_op.drop_index('ix_edi_enregistrements_code')
        batch_op.drop_constraint('uq_edi_enregistrements_rang', type_='unique')
        batch_op.drop_constraint('pk_edi_enregistrements', type_='primary')
        batch_op.drop_column('id')
        batch_op.create_primary_key('pk_edi_enregistrements', ['fichier_id', 'rang'])
        batch_op.create_index('ix_edi_enregistrements_code', ['fichier_id', 'code'], unique=False,
                              postgresql_where=sa.text(ANOMALY),
                              sqlite_where=sa.text(ANOMALY))


def _current_staging_table() -> sa.Table:
    """edi_enregistrements as this revision leaves it (SQLite batch mode cannot reflect the name
    of a composite primary key)."""
    return sa.Table(
        'edi_enregistrements', sa.MetaData(),
        sa.Column('fichier_id', sa.Integer(), sa.ForeignKey('edi_fichiers.id', ondelete='CASCADE',
                                                           name='fk_edi_enregistrements_fichier_id_edi_fichiers'),
                  nullable=False),
        sa.Column('rang', sa.Integer(), nullable=False),
        sa.Column('identifiant', sa.String(length=64), nullable=False),
        sa.Column('code_locataire', sa.String(length=40)),
        sa.Column('numero_allocataire', sa.String(length=20)),
        sa.Column('accepte', sa.Boolean(), nullable=False),
        sa.Column('severite', sa.String(length=14), nullable=False),
        sa.Column('code', sa.String(length=40), nullable=False),
        sa.Column('libelle', sa.Text(), nullable=False),
        sa.Column('anomalies', sa.JSON(), nullable=False),
        sa.Column('nb_anomalies', sa.Integer(), nullable=False),
        *[sa.Column(name, type_) for name, type_, _sql in TYPED],
        sa.PrimaryKeyConstraint('fichier_id', 'rang', name='pk_edi_enregistrements'),
        sa.Index('ix_edi_enregistrements_code', 'fichier_id', 'code', sqlite_where=sa.text(ANOMALY)),
    )


def downgrade():
    postgresql = op.get_bind().dialect.name == 'postgresql'
    if postgresql:
        op.execute("DROP INDEX ix_edi_enregistrements_code")
        op.execute("ALTER TABLE edi_enregistrements DROP CONSTRAINT pk_edi_enregistrements")
        op.execute("ALTER TABLE edi_enregistrements ADD COLUMN id BIGSERIAL")
        op.execute("ALTER TABLE edi_enregistrements ADD CONSTRAINT pk_edi_enregistrements PRIMARY KEY (id)")
    else:
        with op.batch_alter_table('edi_enregistrements', copy_from=_current_staging_table(),
                                  recreate='always') as batch_op:
            batch_op.drop_index('ix_edi_enregistrements_code')
            batch_op.drop_constraint('pk_edi_enregistrements', type_='primary')
            batch_op.add_column(sa.Column('id', sa.Integer(), nullable=True), insert_before='fichier_id')
            batch_op.create_primary_key('pk_edi_enregistrements', ['id'])  # INTEGER PRIMARY KEY: rowid
    with op.batch_alter_table('edi_enregistrements', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_edi_enregistrements_rang', ['fichier_id', 'rang'])
        batch_op.create_index('ix_edi_enregistrements_code', ['fichier_id', 'code'], unique=False)
        batch_op.add_column(sa.Column('donnees', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('applique', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute("UPDATE edi_enregistrements SET applique = (accepte AND rang <= (SELECT f.rang_applique "
               "FROM edi_fichiers f WHERE f.id = edi_enregistrements.fichier_id))")
    pairs = ["'identifiant', identifiant", "'code_locataire', code_locataire",
             "'numero_allocataire', numero_allocataire"]
    pairs += [f"'{JSON_KEY.get(name, name)}', {name}" for name, _type, _sql in TYPED]
    build = "json_build_object" if postgresql else "json_object"
    op.execute(f"UPDATE edi_enregistrements SET donnees = {build}({', '.join(pairs)})")
    with op.batch_alter_table('edi_enregistrements', schema=None) as batch_op:
        for name, _type, _sql in TYPED:
            batch_op.drop_column(name)
    if postgresql:
        op.drop_column('edi_fichiers', 'rang_applique')
    else:
        # Native DROP COLUMN (SQLite >= 3.35): a batch copy would drop and recreate edi_fichiers,
        # whose ON DELETE CASCADE would empty edi_enregistrements.
        op.execute("ALTER TABLE edi_fichiers DROP COLUMN rang_applique")
