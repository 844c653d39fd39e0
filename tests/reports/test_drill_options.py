"""A report's drill-down on a select value: `=` for an option, `like` for a value no option
has any more (a list filter refuses `=` with a value that is not an option)."""

from __future__ import annotations

from yiti.definitions.model import Field, Option
from yiti.reports.compile import OutColumn
from yiti.reports.run import key_filters

KIND = Field("kind", "select", {"en": "Kind"},
             options=(Option("book", {"en": "Book"}), Option("game", {"en": "Game"})))
COLUMN = OutColumn("c0", "kind", "group", {"en": "Kind"}, field=KIND, path="kind")


def test_an_option_is_drilled_with_eq_and_a_removed_one_with_like() -> None:
    assert key_filters(COLUMN, "game", "Asia/Shanghai") == [("kind", "=", "game")]
    assert key_filters(COLUMN, "tape", "Asia/Shanghai") == [("kind", "like", "tape")]
    assert key_filters(COLUMN, None, "Asia/Shanghai") == [("kind", "is null", None)]
