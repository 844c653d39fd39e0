"""KPI cards: a number for this period so far, and its change against the previous one.

"This period so far" is from the period's start to the end of today (site time zone);
the previous period is compared over the same number of days from its own start (the
1st–10th of this month against the 1st–10th of last month), so a card never compares
half a month with a whole one. Both numbers come from one SQL query with conditional
aggregates, filtered by the actor's row rule like any report.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select, true

from yiti.definitions.model import Field, Label
from yiti.permissions.policy import Actor
from yiti.records.transaction import reading
from yiti.reports.buckets import next_start, start_of
from yiti.reports.compile import ReportCompiler
from yiti.reports.params import today
from yiti.reports.spec import Measure, Report


@dataclass
class Kpi:
    name: str
    label: Label
    value: Any
    previous: Any
    field: Field | None
    current_range: tuple[dt.date, dt.date]  # [start, end)
    previous_range: tuple[dt.date, dt.date]

    @property
    def last_day(self) -> dt.date:
        """The last day counted in this period (its range ends the day after)."""
        return self.current_range[1] - dt.timedelta(days=1)

    @property
    def change(self) -> Decimal | None:
        """The change in percent (one decimal), or None without a previous value."""
        if self.value is None or not self.previous:
            return None
        ratio = (Decimal(self.value) - Decimal(self.previous)) / abs(Decimal(self.previous))
        return (ratio * 100).quantize(Decimal("0.1"))


def periods(unit: str, day: dt.date) -> tuple[tuple[dt.date, dt.date], tuple[dt.date, dt.date]]:
    """([start, end) of this period so far, [start, end) of the same span before)."""
    start = start_of(day, unit)
    end = day + dt.timedelta(days=1)
    prev_start = next_start(start, unit, -1)
    prev_end = min(prev_start + (end - start), start)
    return (start, end), (prev_start, prev_end)


def kpi(site: Any, actor: Actor, widget: Mapping[str, Any], *, day: dt.date | None = None
        ) -> Kpi:
    """The card described by a dashboard widget (``entity``, ``measure``, ``date``,
    ``period``, ``filters``), as the actor may see it."""
    tz = site.settings.timezone
    unit = widget.get("period", "month")
    (cur, prev) = periods(unit, day or today(tz))
    measure = Measure("value", widget["measure"]["agg"], widget["measure"].get("field"))
    filters = tuple(widget.get("filters") or ())
    report = Report(name=str(widget.get("kpi", "kpi")), entity=widget["entity"],
                    label=widget.get("label") or {"en": "KPI"}, measures=(measure,))
    comp = ReportCompiler(site, actor, report, {}, [
        (f[0], "=", f[1]) if len(f) == 2 else (f[0], f[1], f[2]) for f in filters])
    _, date_field, date_col = comp.compiler.resolve(widget["date"], "date")
    conds, _ = comp.conditions()

    def between(rng: tuple[dt.date, dt.date]) -> Any:
        low, high = rng
        if date_field.type == "datetime":
            zone = ZoneInfo(tz)
            low = dt.datetime.combine(low, dt.time(), zone)  # type: ignore[assignment]
            high = dt.datetime.combine(high, dt.time(), zone)  # type: ignore[assignment]
        return and_(date_col >= low, date_col < high)

    if not comp.visible(widget["date"]) or (measure.path and not comp.visible(measure.path)):
        return Kpi(report.name, report.label, None, None, None, cur, prev)
    f = comp.field_at(measure.path) if measure.path else None
    arg = comp.compiler.resolve(measure.path, "measure")[2] if measure.path else None
    now_in, before_in = between(cur), between(prev)
    query = (select(comp.aggregate(measure, arg, f, now_in).label("now"),
                    comp.aggregate(measure, arg, f, before_in).label("before"))
             .select_from(comp.compiler.source)
             .where(and_(true(), *conds, or_(now_in, before_in))))
    with reading(site.engine) as conn:
        row = conn.execute(query).one()
    return Kpi(report.name, report.label, row.now, row.before, f, cur, prev)
