"""Root of the test suite: the fixtures live in pytest plugins under tests/support/.

- ``tests.support.plugin``: the app, a database migrated once, one rolled-back transaction per
  test, clients, sign-in helpers, factories, ``run_jobs``;
- ``tests.support.live``: a real Celery worker and a freshly migrated database (``worker`` and
  ``committed`` tests);
- ``tests.support.browser``: a live server and Debian's Chromium through Playwright (``browser``).
"""
pytest_plugins = ["tests.support.plugin", "tests.support.live", "tests.support.browser"]
