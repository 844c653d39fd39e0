"""The record service as a script's host: scripts' record calls, with a user's permissions."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from yiti.errors import FieldProblem, NotFound, ValidationError
from yiti.records.service import Records

log = logging.getLogger("yiti.scripts")


class RecordsHost:
    """Implements :class:`yiti.scripting.ScriptHost` on a :class:`Records` (one actor)."""

    def __init__(self, records: Records, *, script: str) -> None:
        self.records = records
        self.script = script

    def get(self, entity: str, name: Any) -> Mapping[str, Any] | None:
        try:
            return self.records.get(entity, name)
        except NotFound:
            return None

    def list(self, entity: str, filters: Mapping[str, Any], fields: list[str] | None,
             order_by: str | list[str] | None, limit: int) -> list[Mapping[str, Any]]:
        # What a script passes arrives as it wrote it: a wrong shape is its mistake (422),
        # not the server's (dict() of a list of triples, sort keys that are no text: 500).
        sort = [order_by] if isinstance(order_by, str) else order_by
        problems = []
        if filters is not None and not isinstance(filters, Mapping):
            problems.append(FieldProblem("filters", "list_records() takes filters as a "
                                         "mapping of field to value", "type"))
        for key, what in ((sort, "order_by"), (fields, "fields")):
            if key is not None and not (isinstance(key, list)
                                        and all(isinstance(k, str) for k in key)):
                problems.append(FieldProblem(what, f"list_records() takes {what} as a list of "
                                             "field names", "type"))
        if problems:
            raise ValidationError(problems)
        page = self.records.list(entity, filters=dict(filters or {}), fields=fields,
                                 sort=sort or None, limit=limit)
        return page.rows

    def create(self, entity: str, values: Mapping[str, Any]) -> Mapping[str, Any]:
        return self.records.create(entity, dict(values))

    def update(self, entity: str, name: Any, values: Mapping[str, Any], version: int | None
               ) -> Mapping[str, Any]:
        return self.records.update(entity, name, dict(values), version=version)

    def notify(self, user: str, subject: str, body: str) -> None:
        from yiti.jobs import notify

        notify(self.records.site, user, subject=subject, body=body)

    def log(self, level: str, message: str) -> None:
        log.log(logging.getLevelName(level.upper()) if isinstance(
            logging.getLevelName(level.upper()), int) else logging.INFO,
            "%s: %s", self.script, message)
