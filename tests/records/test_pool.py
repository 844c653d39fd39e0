"""Pooled PostgreSQL connections: pinged after an idle spell, not on every checkout."""

from __future__ import annotations

from sqlalchemy import event, text

from yiti import db


def test_a_connection_killed_while_idle_is_replaced_before_use(postgres_db_url, monkeypatch):
    monkeypatch.setattr(db, "PING_AFTER", 0.0)
    engine = db.create_engine(postgres_db_url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:
            first = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with db.side_engine(engine).connect() as killer:  # as a database restart would
            killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
            killer.commit()
        with engine.connect() as conn:
            second = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        assert second != first
    finally:
        engine.dispose()


def test_a_busy_pool_does_not_ping(postgres_db_url):
    engine = db.create_engine(postgres_db_url, pool_size=1, max_overflow=0)
    statements: list[str] = []
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))

        @event.listens_for(engine, "before_cursor_execute")
        def seen(_conn, _cursor, statement, *_):
            statements.append(statement)

        pings = []
        real_ping = engine.dialect.do_ping
        engine.dialect.do_ping = lambda c: pings.append(c) or real_ping(c)
        for _ in range(5):
            with engine.connect() as conn:
                conn.execute(text("SELECT 2"))
        assert pings == []
        assert statements == ["SELECT 2"] * 5
    finally:
        engine.dispose()
