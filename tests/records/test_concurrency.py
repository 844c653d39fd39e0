"""Concurrency on PostgreSQL: naming series and optimistic locking under many threads."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from yiti.db import create_engine
from yiti.errors import Conflict, ValidationError
from yiti.site import Site
from yiti.testing import load, settings_for

THREADS = 20


@pytest.fixture
def pg_site(tmp_path, postgres_db_url):  # noqa: ANN001, ANN201
    engine = create_engine(postgres_db_url, pool_size=THREADS, max_overflow=5)
    site = Site(settings_for(postgres_db_url, tmp_path), model=load(packs=["example"]),
                engine=engine)
    site.migrate()
    yield site
    site.close()


def run_together(n: int, work: Callable[[int], object]) -> tuple[list, list]:
    """Start ``n`` threads at the same instant; collect results and errors."""
    barrier = threading.Barrier(n)
    results, errors, lock = [], [], threading.Lock()

    def target(i: int) -> None:
        barrier.wait()
        try:
            value = work(i)
            with lock:
                results.append(value)
        except Exception as error:  # noqa: BLE001 - collected and asserted on
            with lock:
                errors.append(error)

    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results, errors


def test_series_under_concurrency_gives_unique_increasing_names(pg_site):
    records = pg_site.records()

    def work(i: int) -> str:
        return [records.create("contact", {"full_name": f"P{i}-{k}"})["name"]
                for k in range(5)]

    results, errors = run_together(THREADS, work)
    assert errors == []
    names = [n for batch in results for n in batch]
    assert len(names) == THREADS * 5 == len(set(names))
    for batch in results:  # each thread's own names increase
        assert batch == sorted(batch)


@pytest.mark.parametrize("entity", ["contact", "loan"])  # a sequence; a gapless counter row
def test_series_under_concurrency_skips_numbers_records_already_have(pg_site, entity):
    records = pg_site.records()
    values: dict = {"full_name": "P"}
    prefix = "C-"
    if entity == "loan":
        contact = records.create("contact", {"full_name": "Borrower"})
        item = records.create("item", {"code": "I-1", "title": "Item"})
        values = {"contact": contact["id"], "lines": [{"item": item["id"]}]}
        prefix = records.create("loan", values)["name"][:-5]
    imported = {f"{prefix}{n:05d}" for n in range(4, 80, 3)}
    for name in sorted(imported):
        records.create(entity, dict(values, name=name))

    def work(i: int) -> list[str]:
        return [records.create(entity, values)["name"] for _ in range(5)]

    results, errors = run_together(THREADS, work)
    assert errors == []
    names = [n for batch in results for n in batch]
    assert len(names) == THREADS * 5 == len(set(names))
    assert not imported & set(names)


def test_first_names_of_a_series_need_no_second_pooled_connection(tmp_path, postgres_db_url):
    # Every pooled connection is a transaction creating the first record of a series; the
    # series' sequence is made outside those transactions without waiting for the pool.
    engine = create_engine(postgres_db_url, pool_size=3, max_overflow=0, pool_timeout=5)
    site = Site(settings_for(postgres_db_url, tmp_path), model=load(packs=["example"]),
                engine=engine)
    site.migrate()
    try:
        records = site.records()
        results, errors = run_together(
            3, lambda i: records.create("contact", {"full_name": f"First {i}"})["name"])
        assert errors == []
        assert len(set(results)) == 3
    finally:
        site.close()

def test_gapless_series_has_no_gap_even_with_rollbacks(pg_site):
    records = pg_site.records()
    contact = records.create("contact", {"full_name": "Borrower"})
    item = records.create("item", {"code": "I-1", "title": "Item"})

    def refuse(doc, ctx):  # noqa: ANN001 - after the number was drawn
        if doc.get("notes") == "fail":
            raise ValidationError("refused after numbering", field="notes")

    pg_site.hooks.add("loan", "after_save", refuse)

    def work(i: int) -> str | None:
        values = {"contact": contact["id"], "lines": [{"item": item["id"]}]}
        if i % 4 == 0:  # a quarter of them roll back after taking a number
            try:
                records.create("loan", dict(values, notes="fail"))
            except ValidationError:
                pass
        return records.create("loan", values)["name"]

    results, errors = run_together(THREADS, work)
    assert errors == []
    numbers = sorted(int(n.rsplit("-", 1)[1]) for n in results)
    assert numbers == list(range(1, THREADS + 1))


def test_concurrent_updates_one_wins_the_rest_conflict(pg_site):
    records = pg_site.records()
    contact = records.create("contact", {"full_name": "Shared"})

    def work(i: int) -> int:
        return records.update("contact", contact["id"], {"phone": f"1380000{i:04d}"},
                              version=contact["version"])["version"]

    results, errors = run_together(THREADS, work)
    assert results == [2]
    assert len(errors) == THREADS - 1
    assert all(isinstance(e, Conflict) for e in errors)
    history = records.history("contact", contact["id"])
    assert [h["action"] for h in history] == ["create", "update"]


def test_adjust_never_takes_stock_below_zero_under_concurrency(pg_site):
    records = pg_site.records()
    item = records.create("item", {"code": "HOT-1", "title": "Flash sale", "stock": 10})

    def work(i: int) -> int:
        return records.adjust("item", [(item["id"], {"stock": -1})])[0]["stock"]

    results, errors = run_together(THREADS, work)
    assert len(results) == 10 and sorted(results) == list(range(10))
    assert len(errors) == THREADS - 10
    assert all(isinstance(e, ValidationError) for e in errors)
    assert records.get("item", item["id"])["stock"] == 0
