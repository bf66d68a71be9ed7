"""Serve the app for the browser tests, in its own process (like production).

Usage (from tests/support/browser.py): ``python -m tests.support.browser_server``. The app settings come
as JSON in ``BROWSER_APP_OVERRIDES``. Before serving, the database is reset, migrated (every
Alembic head) and seeded with the demo data (``portal seed-demo``). The chosen port (a free one,
picked by the OS) is printed on the first line of stdout once the server listens.
"""
from __future__ import annotations

import json
import os
import sys


def main() -> None:
    from werkzeug.serving import make_server

    from portal import create_app
    from portal.demo import seed_demo
    from portal.extensions import db
    from tests.support.plugin import reset_database

    app = create_app(json.loads(os.environ["BROWSER_APP_OVERRIDES"]))
    reset_database(app)
    with app.app_context():
        created = seed_demo()
        db.session.remove()
        db.engine.dispose()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    print(server.server_port, created, flush=True)
    sys.stdout.close()
    server.serve_forever()


if __name__ == "__main__":
    main()
