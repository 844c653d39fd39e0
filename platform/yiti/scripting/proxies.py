"""What analysts' code sees of a record: plain read-only proxies, never ORM objects.

:class:`ReadOnlyRecord` gives ``doc.qty`` and ``doc["qty"]`` and refuses every write;
child tables are tuples of proxies. :class:`Doc` is the one writable record, given to a
``before_save`` script as ``doc``: it records what the script changed so the caller can
apply it through the record service. Neither has a public method, so a field may be
called ``items``, ``keys`` or ``get`` without being shadowed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from yiti.errors import did_you_mean
from yiti.scripting.errors import SandboxViolation


class FrozenMap(dict):  # type: ignore[type-arg]
    """A dict nobody can change: how mappings inside inputs reach analysts' code."""

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise SandboxViolation("this mapping is read-only; copy() it to change it")

    __setitem__ = __delitem__ = __ior__ = _refuse
    update = pop = popitem = setdefault = clear = _refuse  # type: ignore[assignment]

    def copy(self) -> dict[Any, Any]:  # type: ignore[override]
        return dict(self)


def freeze(value: Any) -> Any:
    """``value`` with every list, dict and set replaced by an immutable equivalent."""
    t = type(value)
    if t is list or t is tuple:
        return tuple(freeze(v) for v in value)
    if t is dict or t is FrozenMap:
        return FrozenMap({k: freeze(v) for k, v in value.items()})
    if t is set or t is frozenset:
        return frozenset(value)
    return value


def _not_a_field() -> TypeError:
    # Also what list(doc), dict(doc) and ``for x in doc`` end in: with no __iter__, Python
    # tries doc[0], doc[1], ...
    return TypeError(
        "records are read by field name, like doc['qty'] or doc.qty; a record can't be "
        "indexed by position, listed or looped over"
    )


def _missing(values: Mapping[str, Any], name: str) -> AttributeError:
    hint = did_you_mean(name, [k for k in values if isinstance(k, str)])
    return AttributeError(f"the record has no field {name!r}" + (f"; {hint}" if hint else ""))


class ReadOnlyRecord:
    """A record's values, read by attribute or item; every write is refused."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Any]) -> None:
        object.__setattr__(self, "_values", values)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            raise _missing(self._values, name) from None

    def __getitem__(self, name: str) -> Any:
        if type(name) is not str:
            raise _not_a_field()
        try:
            return self._values[name]
        except KeyError:
            raise KeyError(str(_missing(self._values, name))) from None

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def __refuse(self, *args: Any) -> None:
        raise SandboxViolation("records are read-only here")

    __setattr__ = __delattr__ = __setitem__ = __delitem__ = __refuse  # type: ignore[assignment]

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._values == self._values  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Record({dict(self._values)!r})"

    def __reduce__(self) -> Any:
        raise TypeError("records are not picklable")


def record_proxy(
    values: Mapping[str, Any], children: Mapping[str, Iterable[Mapping[str, Any]]] | None = None
) -> ReadOnlyRecord:
    """A read-only proxy of a record: its values frozen, each child table a tuple of proxies.

    ``record_proxy({"qty": 2}, {"lines": [{"qty": 1}]}).lines[0].qty == 1``. Values are
    copied, so nothing analysts' code does reaches ``values``.
    """
    frozen = {k: freeze(v) for k, v in values.items()}
    for table, rows in (children or {}).items():
        frozen[table] = tuple(record_proxy(row) for row in rows)
    return ReadOnlyRecord(frozen)


def record_names(
    values: Mapping[str, Any],
    children: Mapping[str, Iterable[Mapping[str, Any]]] | None = None,
    *,
    parent: Mapping[str, Any] | ReadOnlyRecord | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The names a formula over one record sees: each field and child table by its own
    name, the record as ``doc``, and for a child line its order as ``parent``."""
    doc = record_proxy(values, children)
    names: dict[str, Any] = dict(doc._values)
    names["doc"] = doc
    if parent is not None:
        names["parent"] = parent if isinstance(parent, ReadOnlyRecord) else record_proxy(parent)
    if extra:
        names.update({k: freeze(v) for k, v in extra.items()})
    return names


def set_name(names: dict[str, Any], name: str, value: Any) -> None:
    """Give field ``name`` the value ``value`` in ``names`` (made by :func:`record_names`),
    as a name and in ``doc``: what a formula sees after an earlier one computed it."""
    frozen = freeze(value)
    names[name] = frozen
    names["doc"] = ReadOnlyRecord({**names["doc"]._values, name: frozen})


class Doc:
    """The writable record of a ``before_save``-style script (lives in the worker)."""

    __slots__ = ("_values", "_changed")

    def __init__(self, values: dict[str, Any]) -> None:
        object.__setattr__(self, "_values", values)
        object.__setattr__(self, "_changed", set())

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            raise _missing(self._values, name) from None

    def __getitem__(self, name: str) -> Any:
        if type(name) is not str:
            raise _not_a_field()
        try:
            return self._values[name]
        except KeyError:
            raise KeyError(str(_missing(self._values, name))) from None

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def __setattr__(self, name: str, value: Any) -> None:
        if type(name) is not str or name.startswith("_"):
            raise SandboxViolation(f"{name!r} is not a field name")
        self._values[name] = value
        self._changed.add(name)

    __setitem__ = __setattr__

    def __delattr__(self, name: str) -> None:
        raise SandboxViolation("fields can't be deleted; set them to None")

    __delitem__ = __delattr__

    def __repr__(self) -> str:
        return f"Doc({self._values!r})"

    def __reduce__(self) -> Any:
        raise TypeError("records are not picklable")
