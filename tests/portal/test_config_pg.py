"""PostgreSQL engine options: temporary-table buffers for EDI's identifier table."""
import pytest

from portal.config import ConfigError, _engine_options


def test_postgresql_connections_get_temp_buffers_and_sqlite_nothing_more():
    assert _engine_options("postgresql://u@h/db", {})["connect_args"] == {"options": "-c temp_buffers=256MB"}
    assert _engine_options("postgresql://u@h/db", {"PG_TEMP_BUFFERS": "64MB"})["connect_args"] == {
        "options": "-c temp_buffers=64MB"}
    assert _engine_options("sqlite:///x.db", {}) == {}


@pytest.mark.parametrize("bad", ["lots", "256 MB", "1MB -c fsync=off"])
def test_a_malformed_size_is_refused_by_name(bad):
    with pytest.raises(ConfigError, match="PG_TEMP_BUFFERS"):
        _engine_options("postgresql://u@h/db", {"PG_TEMP_BUFFERS": bad})
