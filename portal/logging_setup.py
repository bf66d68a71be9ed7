"""Logging with a filter that masks anything looking like a secret (passwords, codes,
tokens, cookies, Authorization headers): logs never contain them."""
import logging
import re

_SECRET_RE = re.compile(
    r"(?i)(password|mot_de_passe|passwd|code|token|cookie|authorization|secret|csrf_token)"
    r"(\"?\s*[:=]\s*\"?|\s+)(Bearer\s+)?([^\s&\"',;]+)"
)


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _SECRET_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3) or ''}[masqué]", message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


class MigrationContextChatter(logging.Filter):
    """Drops what Alembic says of its context before any migration (« Context impl
    SQLiteImpl. », « Will assume non-transactional DDL. »): `portal migrate` names the
    migrations it applies, nothing else."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("Context impl", "Will assume"))


def configure(app) -> None:
    root = logging.getLogger()
    if not any(isinstance(f, RedactSecrets) for h in root.handlers for f in h.filters):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(RedactSecrets())
        if not app.config["TESTING"]:
            root.addHandler(handler)
            root.setLevel(logging.INFO)
    # Alembic announces each of its plugins at INFO when imported (7 lines on every `portal …`
    # command): not what a user asked for. Migration progress (alembic.runtime.migration) stays,
    # without its context lines.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    migration = logging.getLogger("alembic.runtime.migration")
    if not any(isinstance(f, MigrationContextChatter) for f in migration.filters):
        migration.addFilter(MigrationContextChatter())
    for h in app.logger.handlers:
        h.addFilter(RedactSecrets())
    logging.getLogger("werkzeug").addFilter(RedactSecrets())
