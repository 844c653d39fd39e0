"""``yiti.api.lock`` (docs/hooks.md, "Taking turns on a record"): writers of one record
take turns, each reading it as the one before committed it; a record the caller may not
read is refused and not locked; outside a transaction it raises.

The race runs on PostgreSQL (threads released together by a barrier), where rows are
locked as in production; SQLite serializes writers, so it skips there."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest

from yiti import api
from yiti.errors import Forbidden, NotFound
from yiti.permissions.policy import SYSTEM
from yiti.records.locks import NoTransaction
from yiti.records.transaction import transaction
from yiti.site import Site
from yiti.workflow import Workflows

from ..commerce.test_races import together
from .conftest import actor


def allowance(site: Site, days: str = "10") -> dict[str, Any]:
    return site.records().create("allowance", {"user": "ann", "days": days})


def take_a_day(site: Site, ident: int, pause: float) -> Decimal:
    """Lock the allowance, wait (so a writer without the lock would overwrite), write one
    day less; the days it read after the lock."""
    records = site.records(SYSTEM)
    with transaction(site.engine):
        row = api.lock(records, "allowance", ident)
        time.sleep(pause)
        records.update("allowance", ident, {"days": row["days"] - 1})
        return row["days"]


@pytest.mark.postgres_only
def test_writers_locking_a_record_take_turns_and_read_what_the_other_committed(site: Site):
    row = allowance(site)
    for _ in range(3):
        before = site.records().get("allowance", row["id"])["days"]
        read = together(lambda: take_a_day(site, row["id"], 0.3),
                        lambda: take_a_day(site, row["id"], 0.3))
        assert not [r for r in read if isinstance(r, Exception)], read
        # the second waited for the first, then read the day it took
        assert sorted(read, reverse=True) == [before, before - 1]
        assert site.records().get("allowance", row["id"])["days"] == before - 2


@pytest.mark.postgres_only
def test_an_action_waits_for_a_hook_holding_the_lock(site: Site, engine: Workflows,
                                                     people: dict[str, dict[str, str]]):
    """The lock is the one an action takes: an action started while pack code holds the
    record waits, then acts on what that code committed."""
    parcel = site.records(actor(site, "ann")).create("parcel", {"title": "Box"})

    def rename() -> str:
        records = site.records(SYSTEM)
        with transaction(site.engine):
            api.lock(records, "parcel", parcel["id"])
            time.sleep(0.5)
            records.update("parcel", parcel["id"], {"title": "Renamed"})
        return "renamed"

    def send() -> dict[str, Any]:
        time.sleep(0.1)  # let the rename take the lock first
        return engine.act(actor(site, "ann"), "parcel", parcel["id"], "send",
                          inputs={"courier": "sf", "tracking": "SF1"})

    renamed, sent = together(rename, send)
    assert renamed == "renamed"
    assert not isinstance(sent, Exception), sent
    assert sent["title"] == "Renamed" and sent["state"] == "sent"


def test_a_record_the_caller_may_not_read_is_refused_and_left_unlocked(
        site: Site, people: dict[str, dict[str, str]]):
    row = allowance(site)
    with pytest.raises((NotFound, Forbidden)), transaction(site.engine):
        api.lock(site.records(actor(site, "lex")), "allowance", row["id"])  # Legal: no access
    with pytest.raises(NotFound), transaction(site.engine):
        api.lock(site.records(SYSTEM), "allowance", row["id"] + 1000)
    with transaction(site.engine):
        locked = api.lock(site.records(actor(site, "ann")), "allowance", "ann")  # by name
    assert locked["id"] == row["id"] and locked["days"] == Decimal("10")


def test_outside_a_transaction_it_raises(site: Site):
    row = allowance(site)
    with pytest.raises(NoTransaction, match="needs a transaction"):
        api.lock(site.records(), "allowance", row["id"])
