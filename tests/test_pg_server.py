"""The test PostgreSQL server (tests/pg_server.py, fixture `postgres_url`) really works."""

import socket

import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.postgres


def test_url_shape(postgres_url):
    url = sa.make_url(postgres_url)
    assert url.drivername == "postgresql+psycopg"
    assert url.username == "tycoon"
    assert url.host == "127.0.0.1"
    assert url.database == "tycoon_test"
    assert url.port


def test_create_insert_read_back(postgres_url):
    engine = sa.create_engine(postgres_url)
    try:
        meta = sa.MetaData()
        items = sa.Table(
            "pg_server_smoke",
            meta,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("name", sa.Text, nullable=False),
            sa.Column("price", sa.Numeric(10, 2), nullable=False),
        )
        meta.create_all(engine)
        try:
            with engine.begin() as conn:
                conn.execute(
                    items.insert(),
                    [{"name": "cola", "price": "1.25"}, {"name": "chips", "price": "0.99"}],
                )
            with engine.connect() as conn:
                rows = conn.execute(sa.select(items.c.name, items.c.price).order_by(items.c.id))
                assert [(r.name, str(r.price)) for r in rows] == [
                    ("cola", "1.25"),
                    ("chips", "0.99"),
                ]
                assert conn.execute(sa.text("SELECT current_database()")).scalar() == "tycoon_test"
                assert conn.execute(sa.text("SELECT version()")).scalar().startswith("PostgreSQL")
        finally:
            meta.drop_all(engine)
    finally:
        engine.dispose()


def test_listens_on_loopback_only(postgres_url):
    url = sa.make_url(postgres_url)
    engine = sa.create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SHOW listen_addresses")).scalar() == "127.0.0.1"
            assert str(conn.execute(sa.text("SELECT inet_server_addr()")).scalar()) == "127.0.0.1"
            assert conn.execute(sa.text("SHOW port")).scalar() == str(url.port)
    finally:
        engine.dispose()

    # Nothing answers on that port at another address: 127.0.0.2 is loopback too on Linux
    # (so this can't hit a firewall) but is not the address the server bound.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(2)
        with pytest.raises(OSError):
            s.connect(("127.0.0.2", url.port))
