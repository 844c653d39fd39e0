"""Formulas, rules and conditions, evaluated in-process.

An expression is compiled once (cached by source, file and line) under
:class:`~yiti.scripting.policy.ExpressionPolicy` and evaluated against a shared, read-only
set of guarded builtins plus the caller's names, frozen. Nothing it can do blocks the web
process: it has no loops, and every step that could explode is measured first.
"""

from __future__ import annotations

import ast
import decimal
import io
import keyword
import threading
import tokenize
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from types import CodeType, TracebackType
from typing import Any

from yiti.errors import FieldProblem
from yiti.scripting import cpu
from yiti.scripting.access import make_getattr, make_getitem
from yiti.scripting.budget import Account
from yiti.scripting.errors import ExpressionError, SandboxViolation, ScriptProblem, cut
from yiti.scripting.guards import EXPRESSION_LIMITS, Limits, make_binop, make_fstring
from yiti.scripting.names import make_builtins, make_render
from yiti.scripting.policy import compile_source
from yiti.scripting.proxies import freeze

# Decimal arithmetic in analysts' code runs under this context, whatever the thread's is:
# 28 significant digits, half-even, and errors (not silent NaN) for invalid operations.
SANDBOX_CONTEXT = decimal.Context(
    prec=28, rounding=decimal.ROUND_HALF_EVEN, Emax=999_999, Emin=-999_999,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)


def _globals(limits: Limits) -> dict[str, Any]:
    builtins = make_builtins(limits, script=False)
    render_str, render_repr = builtins["str"], builtins["repr"]
    return {
        "__builtins__": builtins,
        "_getattr_": make_getattr(limits),
        "_getitem_": make_getitem(limits),
        "_binop_": make_binop(limits),
        "_str_": render_str,
        "_repr_": render_repr,
        "_ascii_": make_render(ascii, limits),
        "_fstring_": make_fstring(limits),
        "_compared_": _compared,
    }


def _compared(value: Any) -> Any:
    """A comparison's value, unchanged: the call is a point where an evaluation past its
    CPU time can be stopped (policy.py, cpu.py)."""
    return value


# The names every formula sees (for checks: no memory account, it evaluates nothing).
_GLOBALS = _globals(EXPRESSION_LIMITS)
_MAX_MEMORY = EXPRESSION_LIMITS.max_memory


class _ThreadGlobals(threading.local):
    """Each thread evaluates with its own guards and builtins, charging its own memory
    account (budget.py): a charge is then an attribute update, not a thread-local read;
    and with its own CPU clock, which the watchdog reads (cpu.py). Made on a thread's
    first evaluation (about a millisecond), kept for its life."""

    def __init__(self) -> None:
        account = Account()
        self.state = (account, _globals(replace(EXPRESSION_LIMITS, account=account)),
                      cpu.new_clock(Expression.evaluate.__code__))


_FROZEN_TYPES = (list, dict, set)


class Expression:
    """A compiled formula. ``evaluate(names)`` returns its value or raises
    :class:`ExpressionError` naming the file and the line."""

    __slots__ = ("source", "filename", "lineno", "name", "code")

    def __init__(self, source: str, code: CodeType, filename: str, lineno: int, name: str):
        self.source, self.code = source, code
        self.filename, self.lineno, self.name = filename, lineno, name

    def evaluate(self, names: Mapping[str, Any] | None = None) -> Any:
        """The value of the expression with ``names`` (fields, ``doc``, ``lines``...) bound.

        Names are frozen first (lists become tuples, dicts read-only), so the expression
        can't change anything the caller or the next evaluation sees.
        """
        scope: dict[str, Any] = {}
        if names:
            for key, value in names.items():
                if key[:1] == "_":
                    raise ValueError(f"name {key!r} can't be given to a formula")
                scope[key] = freeze(value) if type(value) in _FROZEN_TYPES else value
        account, globals_, clock = _per_thread.state
        account.left = _MAX_MEMORY  # this evaluation's memory budget (budget.py)
        # This evaluation's CPU budget (cpu.py): the watchdog measures from here. A formula
        # evaluated inside another's (a helper's) counts toward the outer one.
        outer = clock.running
        if not outer:
            clock.generation += 1
            clock.running = True
        try:
            try:
                with decimal.localcontext(SANDBOX_CONTEXT):
                    return eval(self.code, globals_, scope)
            finally:
                if not outer:
                    clock.running = False  # first: from here on the watchdog won't fire
                    if clock.busy or clock.fired:
                        clock.stopped()
        except cpu.OutOfCpu:
            raise ExpressionError(
                cpu.out_of_cpu_message(), code="cpu_limit", filename=self.filename,
                lineno=self.lineno, name=self.name) from None
        except Exception as e:
            raise self._error(e) from None

    def _error(self, e: BaseException) -> ExpressionError:
        code = getattr(e, "code", "runtime") if isinstance(e, SandboxViolation) else "runtime"
        return ExpressionError(
            _describe(e), code=code, filename=self.filename,
            lineno=_line_of(e.__traceback__, self.filename, self.lineno), name=self.name,
        )

    def __repr__(self) -> str:
        return f"Expression({self.source!r}, filename={self.filename!r}, lineno={self.lineno})"


_per_thread = _ThreadGlobals()  # after Expression: each thread's clock watches its code


def _describe(e: BaseException) -> str:
    """What went wrong, in words, cut to ``MAX_MESSAGE`` characters: an error may carry a
    value the code built (``KeyError`` of a 100,000-character key)."""
    return cut(_reason(e))


def _reason(e: BaseException) -> str:
    if isinstance(e, SandboxViolation):
        return str(e)
    text = str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e)
    if isinstance(e, NameError):
        return text.replace("name ", "unknown name ", 1)
    if isinstance(e, decimal.InvalidOperation):
        text = "invalid decimal operation (a result too large, or not a number)"
    elif isinstance(e, decimal.DivisionByZero):
        text = "division by zero"
    elif isinstance(e, decimal.Overflow):
        text = "the decimal number would be too large (the largest is about 1E+1000000)"
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _line_of(tb: TracebackType | None, filename: str, default: int) -> int:
    line = default
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


@lru_cache(maxsize=4096)
def _compile(source: str, filename: str, lineno: int, name: str) -> Expression:
    code, problems = compile_source(source, mode="eval", filename=filename, lineno=lineno)
    if code is None:
        first = problems[0]
        raise ExpressionError(
            first.message, code=first.code, filename=filename,
            lineno=lineno + first.lineno - 1, name=name,
        )
    return Expression(source, code, filename, lineno, name)


def compile_expression(
    source: str, *, filename: str = "<expression>", lineno: int = 1, name: str = ""
) -> Expression:
    """``source`` compiled as a formula (cached), or :class:`ExpressionError` at its line.

    ``filename`` is the definition file and ``lineno`` the line the expression starts on
    in it; ``name`` says which formula it is (``"sales_order.total"``).
    """
    return _compile(source, filename, lineno, name)


def cache_info() -> Any:
    """Hits and misses of the compiled-expression cache."""
    return _compile.cache_info()


def evaluate(
    source: str,
    names: Mapping[str, Any] | None = None,
    *,
    filename: str = "<expression>",
    lineno: int = 1,
    name: str = "",
) -> Any:
    """Compile (cached) and evaluate ``source`` with ``names`` in one call."""
    return _compile(source, filename, lineno, name).evaluate(names)


def check_expression(
    source: str,
    *,
    filename: str = "<expression>",
    lineno: int = 1,
    name: str = "",
    names: Iterable[str] | None = None,
) -> list[ScriptProblem]:
    """Every problem in a formula, for ``yiti check``; empty if it compiles.

    With ``names`` (the fields and helpers in scope), unknown names are reported too, with
    a "did you mean" hint.
    """
    code, problems = compile_source(source, mode="eval", filename=filename, lineno=lineno)
    found = [
        ScriptProblem(filename, lineno + p.lineno - 1, p.message, p.code, name) for p in problems
    ]
    if names is not None and code is not None:
        found.extend(_unknown_names(code.co_names, set(names), filename, lineno, name))
    elif names is not None and any(p.code == "syntax" for p in problems):
        # a syntax error hides the rest; the names can still be read, so a misspelt one
        # is reported in the same run rather than once the syntax is fixed
        found.extend(_unknown_names(_names_read(source), set(names), filename, lineno, name))
    return found


def _names_read(source: str) -> list[str]:
    """The names ``source`` reads, from its tokens (it need not parse); none when it binds
    names of its own (``lambda``, a comprehension), which tokens cannot tell apart."""
    tokens: list[tokenize.TokenInfo] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(source.strip()).readline):
            tokens.append(token)
    except (tokenize.TokenError, SyntaxError):
        pass  # an unclosed bracket: the tokens before it are still good
    meaningful = [t for t in tokens if t.type in (tokenize.NAME, tokenize.OP)]
    if any(t.type == tokenize.NAME and t.string in ("lambda", "for") for t in meaningful):
        return []
    names = []
    for index, token in enumerate(meaningful):
        if token.type != tokenize.NAME or keyword.iskeyword(token.string):
            continue
        before = meaningful[index - 1].string if index else ""
        after = meaningful[index + 1].string if index + 1 < len(meaningful) else ""
        if before != "." and after != "=":  # not an attribute, not a keyword argument
            names.append(token.string)
    return list(dict.fromkeys(names))


@dataclass(frozen=True)
class AttributeRead:
    """``x.attr`` in a formula whose object is a name read through attributes and items
    (``employee``, ``doc.lines[0].product``), for checks that know what each name holds."""

    lineno: int  # the line within the formula, 1-based
    steps: tuple[str | None, ...]  # the name, then each attribute or text key; None: an item
    attribute: str
    target: str  # the object as written, for messages: "doc.lines[0].product"


def attribute_reads(source: str) -> list[AttributeRead]:
    """Every attribute read of formula ``source`` on a name or a path from one (none for
    text that does not parse). Reads on other values (``today().year``) are left out."""
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    reads = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            path = _path(node.value)
            if path is not None:
                reads.append(AttributeRead(node.lineno, path[0], node.attr, path[1]))
    return reads


def _path(node: ast.expr) -> tuple[tuple[str | None, ...], str] | None:
    """(steps, text) of ``node`` when it is a name followed by attributes and items."""
    steps: list[str | None] = []
    texts: list[str] = []
    while not isinstance(node, ast.Name):  # a loop, not recursion: chains may be long
        if isinstance(node, ast.Attribute):
            steps.append(node.attr)
            texts.append(f".{node.attr}")
        elif isinstance(node, ast.Subscript):
            key = node.slice
            # doc["qty"] reads a field as doc.qty does; lines[0] and lines[i] read a line
            if isinstance(key, ast.Constant):
                steps.append(key.value if isinstance(key.value, str) else None)
                texts.append(f"[{key.value!r}]")
            else:
                steps.append(None)
                texts.append("[...]")
        else:
            return None
        node = node.value
    return (node.id, *reversed(steps)), node.id + "".join(reversed(texts))


def _unknown_names(
    read: Iterable[str], known: set[str], filename: str, lineno: int, name: str
) -> list[ScriptProblem]:
    from yiti.errors import did_you_mean

    scope = known | set(_GLOBALS["__builtins__"]) | set(_GLOBALS)
    problems = []
    for used in read:
        if used not in scope and not used.startswith("_"):
            hint = did_you_mean(used, sorted(known | set(_GLOBALS["__builtins__"])))
            message = f"unknown name {used!r}" + (f"; {hint}" if hint else "")
            problems.append(ScriptProblem(filename, lineno, message, "unknown_name", name))
    return problems


def evaluate_rule(
    condition: Expression | str,
    names: Mapping[str, Any],
    *,
    message: str,
    field: str = "",
    filename: str = "<rule>",
    lineno: int = 1,
) -> FieldProblem | None:
    """A validation rule: None when ``condition`` holds, else the problem to report.

    ``message`` is shown to the user and ``field`` is the field to blame (empty for the
    whole record). Collect the problems of all rules into one
    :class:`yiti.errors.ValidationError`.
    """
    expr = condition if isinstance(condition, Expression) else compile_expression(
        condition, filename=filename, lineno=lineno
    )
    return None if expr.evaluate(names) else FieldProblem(field, message, "rule")
