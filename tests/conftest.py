"""Root of the test suite: the fixtures live in pytest plugins under tests/support/.

- ``tests.support.plugin``: the app, a database migrated once, one rolled-back transaction per
  test, clients, sign-in helpers, factories, ``run_jobs``;
- ``tests.support.live``: a real Celery worker and a freshly migrated database (``worker`` and
  ``committed`` tests);
- ``tests.support.browser``: a live server and Debian's Chromium through Playwright (``browser``).
"""
pytest_plugins = ["tests.support.plugin", "tests.support.live", "tests.support.browser"]


import pytest  # noqa: E402


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    """Last hook of the session, after the session fixtures were torn down (their apps dispose
    their pools): collect what is left before pytest checks for unraisable exceptions at exit.
    Without `trylast` this ran before that teardown, while the suite's app still held its
    PostgreSQL pool, and CI exited 1 on psycopg's ResourceWarning for it."""
    import gc
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
