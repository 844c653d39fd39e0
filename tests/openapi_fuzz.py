"""Schemathesis over a running app's OpenAPI document: one loop for every suite that
fuzzes some of ``/api/v1`` (tests/web_api, tests/commerce)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance,
          content_type_conformance]


@dataclass
class Fuzzed:
    """What a run did: the operations it covered, every status seen, every failure."""

    operations: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def report(self) -> str:
        return "\n\n".join(self.failures[:5])


def fuzz(app: Flask, headers: Mapping[str, str], *, max_examples: int,
         select: Callable[[str], bool] = lambda path: True) -> Fuzzed:
    """Call each operation of ``app``'s document whose path ``select`` accepts with up to
    ``max_examples`` generated requests (deterministic, as ``headers``' caller), and check
    each answer: no 5xx, a status, content type and body the document declares.

    Failures are collected, not raised, so one run reports them all."""
    schema = schemathesis.openapi.from_dict(app.test_client().get("/api/v1/openapi.json").json)
    schema.app = app
    out = Fuzzed()
    ops = [op for result in schema.get_all_operations()
           if (op := result.ok()) is not None and select(op.path)]
    for operation in ops:
        out.operations.append(f"{operation.method.upper()} {operation.path}")

        @settings(max_examples=max_examples, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case: schemathesis.Case) -> None:
            response = case.call(app=app, headers=dict(headers))
            out.statuses.append(response.status_code)
            try:
                case.validate_response(response, checks=CHECKS)
            except Exception as error:  # collect them all, report together
                out.failures.append(f"{case.method} {case.path}: {error}"[:800])

        run()
    return out
