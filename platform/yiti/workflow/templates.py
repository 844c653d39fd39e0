"""Reusable workflow templates (the project's ``workflows/`` folder), instantiated with
parameters: ``use: amount_approval`` + ``with: {levels: [...]}``.

A template is a YAML file with ``template`` (its name), ``params`` (each with
``default`` or ``required: true`` and a ``description``) and ``workflow``: the body of a
workflow as text, rendered by Jinja2's sandbox with the parameters (``{{ x | yaml }}``
writes a value as YAML) and then read as YAML. The using file's own keys win: its
``states`` are merged into the template's state by state, its ``transitions`` added.
Pure: no database.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from yiti.config import PROJECT_ROOT
from yiti.errors import did_you_mean

#: Where templates are found.
TEMPLATES_PATH = PROJECT_ROOT / "workflows"

_env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, trim_blocks=True,
                                     lstrip_blocks=True, autoescape=False)
_env.filters["yaml"] = lambda value: json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class Template:
    name: str
    path: Path
    params: Mapping[str, Mapping[str, Any]]
    source: str
    label: Any = None
    description: Any = None


class TemplateProblem(Exception):
    """A template could not be used: ``key`` (``use``, ``with.levels``) says where."""

    def __init__(self, key: tuple[str | int, ...], message: str, hint: str | None = None
                 ) -> None:
        super().__init__(message)
        self.key, self.message, self.hint = key, message, hint


@cache
def _read(path: Path) -> Template:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return Template(name=data["template"], path=path, params=data.get("params") or {},
                    source=data["workflow"], label=data.get("label"),
                    description=data.get("description"))


def templates(folder: Path = TEMPLATES_PATH) -> dict[str, Template]:
    """Every template in ``folder`` by name."""
    out = {}
    for path in sorted(folder.glob("*.y*ml")):
        template = _read(path)
        out[template.name] = template
    return out


def expand(data: Mapping[str, Any], folder: Path = TEMPLATES_PATH) -> dict[str, Any]:
    """The workflow body of ``data``: itself, or its template rendered with ``with``.

    Raises :class:`TemplateProblem` naming the key at fault.
    """
    if "use" not in data:
        return dict(data)
    found = templates(folder)
    name = data["use"]
    template = found.get(name)
    if template is None:
        raise TemplateProblem(("use",), f"unknown workflow template {name!r}",
                              did_you_mean(name, found) or
                              f"templates: {', '.join(sorted(found)) or 'none'}")
    given = dict(data.get("with") or {})
    for key in given:
        if key not in template.params:
            raise TemplateProblem(("with", key), f"template {name!r} has no parameter {key!r}",
                                  did_you_mean(key, template.params) or
                                  f"parameters: {', '.join(template.params)}")
    values: dict[str, Any] = {}
    for key, spec in template.params.items():
        if key in given:
            values[key] = given[key]
        elif spec.get("required"):
            raise TemplateProblem(("with",), f"template {name!r} needs the parameter {key!r}",
                                  str(spec.get("description") or "") or None)
        else:
            values[key] = copy.deepcopy(spec.get("default"))
    values.update(entity=data.get("entity"), workflow=data.get("workflow"))
    try:
        text = _env.from_string(template.source).render(**values)
        body = yaml.safe_load(text) or {}
    except (TemplateError, yaml.YAMLError, TypeError, KeyError) as error:
        raise TemplateProblem(("with",), f"template {name!r} could not use these "
                              f"parameters: {error}") from None
    if not isinstance(body, dict):
        raise TemplateProblem(("use",), f"template {name!r} did not give a mapping")
    return merge(body, {k: v for k, v in data.items() if k not in ("use", "with")})


def merge(base: dict[str, Any], own: Mapping[str, Any]) -> dict[str, Any]:
    """The template's body with the using file's keys laid over it."""
    out = dict(base)
    for key, value in own.items():
        if key == "states" and isinstance(value, Mapping):
            states = dict(out.get("states") or {})
            for state, spec in value.items():
                states[state] = {**(states.get(state) or {}), **(spec or {})}
            out["states"] = states
        elif key == "transitions" and isinstance(value, list):
            out["transitions"] = [*(out.get("transitions") or []), *value]
        else:
            out[key] = value
    return out
