"""Reading definition files: YAML or JSON to plain data, with the line of every key.

A :class:`Source` is one file's data (dicts, lists, scalars) and a map from each key
path (``("fields", "qty", "scale")``, list items as integers) to its 1-based line, so
every later check can say ``path:line: key: message``. Reading never raises for a bad
file: syntax errors, empty files and duplicate keys become :class:`DefinitionError`.

YAML is read with YAML 1.2 scalars: only ``true``/``false`` are booleans (``yes``,
``no``, ``on`` and ``off`` stay text) and dates stay text, so a YAML file and a JSON
file meaning the same thing load the same data.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from yiti.errors import DefinitionError, DefinitionWarning

#: File name endings read as definitions.
EXTENSIONS = (".yaml", ".yml", ".json")

KeyPath = tuple[str | int, ...]

_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema booleans and numbers, and no timestamps."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_BOOL, _INT, _FLOAT, _TIMESTAMP)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    _INT, re.compile(r"^(?:[-+]?[0-9]+|0x[0-9a-fA-F]+|0o[0-7]+)$"), list("-+0123456789")
)
_Loader.add_implicit_resolver(
    _FLOAT,
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


def _construct_int(loader: yaml.SafeLoader, node: ScalarNode) -> int:
    text = node.value.replace("_", "")
    if text.startswith(("0x", "0o")):
        return int(text, 0)
    return int(text, 10)


_Loader.add_constructor(_INT, _construct_int)


def display_path(path: Path) -> str:
    """``path`` relative to the working directory when it is under it, else absolute."""
    try:
        return os.path.relpath(path) if path.resolve().is_relative_to(Path.cwd()) else str(path)
    except (OSError, ValueError):
        return str(path)


#: The manifest that makes a folder a pack.
MANIFEST = "module.yaml"


def in_pack(path: str, module: str | None = None) -> str:
    """A definition file's ``path`` as API clients and end users see it (an error's
    ``path:line``, a rule's source): as it is when relative (under the working
    directory: ``modules/commerce/scripts/x.yaml``); an absolute one (a pack outside the
    project) from its pack's folder on (``commerce/scripts/x.yaml``: the folder named
    ``module``, else the nearest holding a pack's manifest), never the server's file
    system."""
    parts = Path(path).parts
    if not Path(path).is_absolute():
        return path
    if module and module in parts[:-1]:
        return "/".join(parts[len(parts) - 1 - parts[::-1].index(module):])
    for i in range(len(parts) - 2, 0, -1):
        try:
            if (Path(*parts[:i + 1]) / MANIFEST).is_file():
                return "/".join(parts[i:])
        except OSError:
            break
    return "/".join(parts[-2:])


def key_text(key_path: Iterable[str | int]) -> str:
    """``("fields", "qty", "scale")`` → ``fields.qty.scale``; list items as ``rules[0]``."""
    text = ""
    for part in key_path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


@dataclass
class Source:
    """One definition file: its data and the line of every key and list item."""

    path: Path
    data: Any = None
    lines: dict[KeyPath, int] = field(default_factory=dict)
    problems: list[DefinitionError] = field(default_factory=list)

    @property
    def display(self) -> str:
        return display_path(self.path)

    @property
    def stem(self) -> str:
        return self.path.stem

    def line(self, key_path: Iterable[str | int] = ()) -> int:
        """The line of ``key_path``, or of its nearest ancestor that has one."""
        path = tuple(key_path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)

    def error(
        self,
        key_path: Iterable[str | int],
        message: str,
        hint: str | None = None,
        *,
        key: str | None = None,
    ) -> DefinitionError:
        """A :class:`DefinitionError` located at ``key_path`` in this file."""
        path = tuple(key_path)
        return DefinitionError(
            self.display, self.line(path), key or key_text(path) or "(file)", message, hint
        )


    def warning(
        self, key_path: Iterable[str | int], message: str, hint: str | None = None
    ) -> DefinitionWarning:
        """A :class:`DefinitionWarning` located at ``key_path`` in this file."""
        path = tuple(key_path)
        return DefinitionWarning(
            self.display, self.line(path), key_text(path) or "(file)", message, hint
        )


def read_source(path: Path) -> Source:
    """Read a YAML or JSON definition file; problems are in ``Source.problems``."""
    source = Source(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        source.problems.append(source.error((), f"not UTF-8 text: {exc.reason}"))
        return source
    except OSError as exc:
        source.problems.append(source.error((), f"cannot read: {exc.strerror}"))
        return source
    if path.suffix == ".json":
        _read_json(source, text)
    else:
        _read_yaml(source, text)
    if not source.problems:
        if source.data is None:
            source.problems.append(
                source.error((), "empty file", "write a definition or delete the file")
            )
        elif not isinstance(source.data, dict):
            source.problems.append(
                source.error((), f"expected a mapping of keys at the top, got {type_name(source.data)}")
            )
    return source


def _read_yaml(source: Source, text: str) -> None:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            source.data = _convert(loader, node, (), source)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        message = " ".join(p for p in (exc.context, exc.problem) if p)
        source.problems.append(
            DefinitionError(source.display, line, "(file)", f"YAML syntax error: {message}")
        )
    except yaml.YAMLError as exc:
        source.problems.append(source.error((), f"YAML syntax error: {exc}"))
    finally:
        loader.dispose()


def _read_json(source: Source, text: str) -> None:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        source.problems.append(
            DefinitionError(source.display, exc.lineno, "(file)", f"JSON syntax error: {exc.msg}")
        )
        return
    # The data comes from json (exact JSON semantics); the lines from composing the same
    # text as YAML, which JSON nearly is once tabs (never inside JSON strings) are spaces.
    loader = _Loader(text.replace("\t", " "))
    shadow = Source(source.path)
    try:
        node = loader.get_single_node()
        if node is not None:
            _convert(loader, node, (), shadow)
    except yaml.YAMLError:
        pass  # lines fall back to 1; the data is still right
    finally:
        loader.dispose()
    source.lines = shadow.lines
    source.problems.extend(p for p in shadow.problems if "duplicate key" in p.args[0])
    source.data = data


def _convert(loader: _Loader, node: Node, path: KeyPath, source: Source) -> Any:
    source.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, MappingNode):
        loader.flatten_mapping(node)  # YAML merge keys (<<: *defaults)
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                source.problems.append(
                    DefinitionError(
                        source.display, key_node.start_mark.line + 1, key_text(path) or "(file)",
                        "a key must be plain text",
                    )
                )
                continue
            key = key_node.value  # the text as written: `on:` stays "on", `1:` stays "1"
            child = (*path, key)
            if key in result:
                source.problems.append(
                    DefinitionError(
                        source.display, key_node.start_mark.line + 1, key_text(child),
                        f"duplicate key {key!r}", "each key may appear once in a mapping",
                    )
                )
                continue
            source.lines[child] = key_node.start_mark.line + 1
            result[key] = _convert(loader, value_node, child, source)
        return result
    if isinstance(node, SequenceNode):
        return [
            _convert(loader, item, (*path, index), source) for index, item in enumerate(node.value)
        ]
    return loader.construct_object(node, deep=True)


def type_name(value: Any) -> str:
    """The definition-language name of a value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__
