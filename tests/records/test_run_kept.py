"""``db.run_kept``: a kept statement sent on psycopg's cursor gives what ``conn.execute``
gives (the same rows and types, the same errors, the same events, the same transaction),
and every other database goes through ``conn.execute``."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    MetaData,
    String,
    Table,
    bindparam,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.types import TypeDecorator

from yiti import db
from yiti.schema.types import ExactDecimal, UTCDateTime

AT = dt.datetime(2026, 11, 11, 0, 0, 1, tzinfo=dt.UTC)


class Shouted(TypeDecorator):
    """Stored in lower case, read in upper case: both conversions are visible."""

    impl = String(20)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else value.lower()

    def process_result_value(self, value, dialect):
        return None if value is None else value.upper()


@pytest.fixture(params=["postgresql", "sqlite"])
def engine(request, tmp_path):
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_db_url")
    else:
        url = f"sqlite:///{tmp_path / 'kept.db'}"
    engine = db.create_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def table(engine):
    metadata = MetaData()
    t = Table("kept_item", metadata,
              Column("id", BigInteger().with_variant(db_integer(), "sqlite"), primary_key=True),
              Column("code", String(20), nullable=False, unique=True),
              Column("price", ExactDecimal(12, 2)),
              Column("at", UTCDateTime()),
              Column("on", Date()),
              Column("active", Boolean(create_constraint=False)),
              Column("data", JSON),
              Column("label", Shouted()))
    metadata.create_all(engine)
    return t


def db_integer():
    from sqlalchemy import Integer
    return Integer()


ROW = {"code": "A-1", "price": Decimal("12.5"), "at": AT, "on": dt.date(2026, 11, 11),
       "active": True, "data": {"colours": ["red"], "n": 1}, "label": "Big Sale"}


def test_rows_and_types_are_those_of_execute(engine, table):
    insert_returning = insert(table).returning(*table.c)
    by_code = select(table, table.c.price.label("price_again")).where(
        table.c.code == bindparam("code"))
    with engine.begin() as conn:
        stored = db.run_kept(conn, insert_returning, ROW)
        assert stored[0]["price"] == Decimal("12.50")
        assert stored[0]["at"] == AT and stored[0]["at"].tzinfo is not None
        kept = db.run_kept(conn, by_code, {"code": "A-1"})
        executed = [dict(r) for r in conn.execute(by_code, {"code": "A-1"}).mappings()]
    assert kept == executed
    assert kept[0]["price_again"] == Decimal("12.50")
    assert kept[0]["data"] == {"colours": ["red"], "n": 1}
    assert kept[0]["label"] == "BIG SALE"
    with engine.connect() as conn:  # stored as the type binds it
        assert conn.execute(select(table.c.label.cast(String))).scalar_one() == "big sale"
    assert all(type(k) is str for k in kept[0])  # plain keys, not SQLAlchemy's str subclass
    with engine.connect() as conn:
        assert db.run_kept(conn, by_code, {"code": "missing"}) == []


def test_a_write_without_returning_gives_no_rows_and_is_committed(engine, table):
    with engine.connect() as conn:  # no begin: the write starts the transaction
        assert db.run_kept(conn, insert(table), ROW) == []
        conn.commit()
    rename = update(table).where(table.c.code == bindparam("_code")).values(
        code=bindparam("new_code"))
    with engine.connect() as conn:
        db.run_kept(conn, rename, {"_code": "A-1", "new_code": "B-2"})
        conn.commit()
    with engine.connect() as conn:
        assert conn.execute(select(table.c.code)).scalars().all() == ["B-2"]


def test_a_rolled_back_write_leaves_nothing(engine, table):
    with engine.connect() as conn:
        db.run_kept(conn, insert(table), ROW)
        conn.rollback()
    with engine.connect() as conn:
        assert conn.execute(select(table.c.id)).all() == []


def test_errors_are_sqlalchemys(engine, table):
    with engine.begin() as conn:
        db.run_kept(conn, insert(table), ROW)
    with engine.connect() as conn:
        with pytest.raises(IntegrityError):
            db.run_kept(conn, insert(table), ROW)  # the code is unique
        conn.rollback()  # and the connection goes on
        assert db.run_kept(conn, select(table.c.code), {}) == [{"code": "A-1"}]
    naive = {**ROW, "code": "N-1", "at": AT.replace(tzinfo=None)}
    with engine.connect() as conn, pytest.raises(StatementError, match="timezone-aware"):
        db.run_kept(conn, insert(table), naive)


def test_cursor_events_see_each_statement(engine, table):
    seen: list[str] = []

    def listen(_conn, _cursor, statement, *_):
        seen.append(statement.split()[0])

    event.listen(engine, "before_cursor_execute", listen)
    try:
        with engine.begin() as conn:
            db.run_kept(conn, insert(table), ROW)
            db.run_kept(conn, select(table).where(table.c.id == bindparam("id")), {"id": 1})
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    assert [s for s in seen if s in ("INSERT", "SELECT")] == ["INSERT", "SELECT"]


def test_an_expanding_in_list_goes_through_execute(engine, table):
    with engine.begin() as conn:
        db.run_kept(conn, insert(table), ROW)
        db.run_kept(conn, insert(table), {**ROW, "code": "A-2"})
        some = select(table.c.code).where(table.c.code.in_(bindparam("codes", expanding=True))
                                          ).order_by(table.c.code)
        assert db.run_kept(conn, some, {"codes": ["A-2", "A-1", "Z"]}) == [
            {"code": "A-1"}, {"code": "A-2"}]
        assert db.run_kept(conn, some, {"codes": []}) == []


def test_a_connection_that_broke_is_replaced(postgres_db_url):
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    engine = db.create_engine(postgres_db_url)
    metadata = MetaData()
    table = Table("kept_item", metadata, Column("id", BigInteger, primary_key=True))
    metadata.create_all(engine)
    by_id = select(table.c.id).where(table.c.id == bindparam("id"))
    with engine.connect() as conn:
        db.run_kept(conn, by_id, {"id": 1})  # the connection keeps its cursor
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        conn.rollback()
        with db.side_engine(engine).connect() as killer:
            killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            killer.commit()
        with pytest.raises(DBAPIError) as error:
            db.run_kept(conn, by_id, {"id": 1})
        assert error.value.connection_invalidated
    with engine.connect() as conn:  # a new connection, with a cursor of its own
        assert db.run_kept(conn, by_id, {"id": 1}) == []
    engine.dispose()


# -- db.commit: writes sent with the COMMIT --------------------------------------------------


def rename(table):
    return update(table).where(table.c.code == bindparam("_code")).values(
        code=bindparam("new_code"))


def test_writes_sent_with_the_commit_are_committed_and_seen_by_the_events(engine, table):
    seen: list[str] = []

    def listen(_conn, _cursor, statement, *_):
        seen.append(statement.split()[0])

    with engine.begin() as conn:
        db.run_kept(conn, insert(table), ROW)
    event.listen(engine, "before_cursor_execute", listen)
    try:
        with engine.connect() as conn:
            db.run_kept(conn, select(table.c.id), {})
            db.commit(conn, [(insert(table), {**ROW, "code": "A-2"}),
                             (rename(table), {"_code": "A-1", "new_code": "A-0"})])
            assert not conn.in_transaction()
            # the connection goes on: a new transaction, committed as usual
            db.run_kept(conn, insert(table), {**ROW, "code": "A-3"})
            conn.commit()
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    assert [s for s in seen if s in ("INSERT", "UPDATE", "SELECT")] == [
        "SELECT", "INSERT", "UPDATE", "INSERT"]
    with engine.connect() as conn:
        assert conn.execute(select(table.c.code).order_by(table.c.code)).scalars().all() == [
            "A-0", "A-2", "A-3"]


def test_a_failed_write_sent_with_the_commit_commits_nothing(engine, table):
    with engine.begin() as conn:
        db.run_kept(conn, insert(table), ROW)
    with engine.connect() as conn:
        db.run_kept(conn, insert(table), {**ROW, "code": "B-1"})  # in the same transaction
        with pytest.raises(IntegrityError):
            db.commit(conn, [(insert(table), {**ROW, "code": "B-2"}),
                             (insert(table), ROW),  # the code is unique
                             (rename(table), {"_code": "A-1", "new_code": "B-3"})])
        conn.rollback()
        assert db.run_kept(conn, select(table.c.code), {}) == [{"code": "A-1"}]
        db.commit(conn, [(insert(table), {**ROW, "code": "C-1"})])  # and it goes on
    with engine.connect() as conn:
        assert conn.execute(select(table.c.code).order_by(table.c.code)).scalars().all() == [
            "A-1", "C-1"]


def test_on_postgresql_the_writes_and_the_commit_go_out_in_one_pipeline(postgres_db_url,
                                                                         monkeypatch):
    """One round trip: the statements and the COMMIT are sent in psycopg's pipeline mode
    and nothing is left for SQLAlchemy's commit to send."""
    import psycopg
    from sqlalchemy import text

    engine = db.create_engine(postgres_db_url)
    metadata = MetaData()
    table = Table("kept_item", metadata, Column("id", BigInteger, primary_key=True),
                  Column("code", String(20)))
    metadata.create_all(engine)
    pipelined: list[str] = []
    sent_alone: list[str] = []
    real_pipeline = psycopg.Connection.pipeline

    def pipeline(self):
        pipelined.append("pipeline")
        return real_pipeline(self)

    real_commit = psycopg.Connection.commit

    def commit(self):
        if self.pgconn.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            sent_alone.append("COMMIT")
        return real_commit(self)

    monkeypatch.setattr(psycopg.Connection, "pipeline", pipeline)
    monkeypatch.setattr(psycopg.Connection, "commit", commit)
    with engine.connect() as conn:
        db.run_kept(conn, insert(table), {"id": 1, "code": "a"})
        db.commit(conn, [(insert(table), {"id": 2, "code": "b"}),
                         (update(table).where(table.c.id == bindparam("_id")), {
                             "_id": 1, "code": "c"})])
        assert conn.execute(text("SELECT count(*) FROM kept_item")).scalar_one() == 2
        conn.rollback()
    assert pipelined == ["pipeline"] and sent_alone == []
    with engine.connect() as conn:
        assert conn.execute(select(table.c.code).order_by(table.c.id)).scalars().all() == [
            "c", "b"]
    engine.dispose()
