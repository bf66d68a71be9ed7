"""The models and the migrations agree: autogenerate on the migrated test database finds
nothing to do (so every domain's migrations are checked against its models)."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from portal.extensions import db


def test_models_and_migrations_agree():
    connection = db.session.connection()
    context = MigrationContext.configure(connection, opts={
        "compare_type": True,
        "compare_server_default": False,
        "render_as_batch": connection.dialect.name == "sqlite",
    })
    diff = compare_metadata(context, db.metadata)
    assert diff == [], "modèles et migrations divergent (migration manquante ?) :\n" + "\n".join(
        map(str, diff))
