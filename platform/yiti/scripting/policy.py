"""What analysts may write, checked on the syntax tree before anything runs.

Built on RestrictedPython's :class:`RestrictingNodeTransformer` (which refuses private
names, ``exec``/``eval``, async code and rewrites attribute, item and loop access into
guard calls). On top of it:

- every binary operator and augmented assignment becomes ``_binop_(op, a, b)`` so its
  operands are measured before it computes (see ``guards.py``);
- f-string parts become ``_str_(value)``/``_repr_(value)``/``_ascii_(value)``, and the
  f-string ``_fstring_(part, ...)``, which measures the parts together before joining them;
  format specs are refused (``f"{x:>1000000000}"`` would pad in one step);
- literals are bounded (long text, huge numbers, complex and bytes are refused);
- ``format``, ``format_map`` and introspection attributes are refused by name;
- ``~x`` becomes ``_binop_("^", x, -1)``, so its result is measured like any other;
- in expressions, each comparison becomes ``_compared_(a < b)``, a call that returns its
  value: ``x in l`` scans a list in one step, and a call is where Python delivers the
  exception that ends a formula past its CPU time (``cpu.py``);
- expressions refuse loops, comprehensions, generators, lambdas, ``:=``, ``*args`` and
  ``{**m}``;
- scripts refuse imports, classes, ``yield``, ``global``, ``with`` and bare ``except:``,
  and every ``while`` test is counted by ``_loop_``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from types import CodeType
from typing import Any

from RestrictedPython.transformer import RestrictingNodeTransformer, copy_locations

MAX_EXPRESSION_SOURCE = 4_000
MAX_SCRIPT_SOURCE = 200_000
MAX_LITERAL_STRING = 10_000
MAX_LITERAL_INT_BITS = 256

# Names that do not exist for analysts; refused with a clear message rather than NameError.
FORBIDDEN_NAMES = frozenset(
    """open exec eval compile globals locals vars dir type object super getattr setattr
    delattr hasattr input breakpoint help exit quit memoryview bytearray bytes classmethod
    staticmethod property id hash iter next callable isinstance issubclass format print
    printed builtins""".split()
)
SCRIPT_ONLY_NAMES = frozenset(("getattr", "hasattr", "print", "printed"))

_BINOPS = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
    ast.Mod: "%", ast.Pow: "**", ast.LShift: "<<", ast.RShift: ">>", ast.BitAnd: "&",
    ast.BitOr: "|", ast.BitXor: "^",
}


# f-string conversions: {x!r}, {x!a}; {x} and {x!s} are _str_.
_RENDERS = {ord("r"): "_repr_", ord("a"): "_ascii_"}


@dataclass(frozen=True)
class Problem:
    lineno: int  # line within the source, 1-based
    message: str
    code: str = "forbidden"


def _call(name: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=ast.Name(name, ast.Load()), args=list(args), keywords=[])


class ExpressionPolicy(RestrictingNodeTransformer):
    """Formulas, rules and conditions: one expression, no loops, no functions."""

    script = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.problems: list[Problem] = []

    def error(self, node: ast.AST, info: str) -> None:
        super().error(node, info)
        self.problems.append(Problem(getattr(node, "lineno", 1) or 1, info))

    def refuse(self, node: ast.AST, what: str, hint: str = "") -> None:
        place = "scripts" if self.script else "formulas"
        self.error(node, f"{what} not allowed in {place}" + (f"; {hint}" if hint else ""))

    # literals ----------------------------------------------------------------------------
    def visit_Constant(self, node: ast.Constant) -> Any:
        v = node.value
        if isinstance(v, (bytes, complex)):
            self.refuse(node, f"{type(v).__name__} literals are")
        elif isinstance(v, str) and len(v) > MAX_LITERAL_STRING:
            self.refuse(node, f"text literals longer than {MAX_LITERAL_STRING:,} characters are")
        elif isinstance(v, int) and v.bit_length() > MAX_LITERAL_INT_BITS:
            self.refuse(node, "number literals this large are")
        return node

    def visit_FormattedValue(self, node: ast.FormattedValue) -> Any:
        if node.format_spec is not None:
            self.refuse(node, "format specifications in f-strings are", "use format_number()")
            return node
        node = self.node_contents_visit(node)
        render = _RENDERS.get(node.conversion, "_str_")
        new = _call(render, node.value)
        copy_locations(new, node.value)
        node.value, node.conversion = new, -1
        return node

    def visit_JoinedStr(self, node: ast.JoinedStr) -> Any:
        # Each part is held to the text limit on its own (a literal, or _str_/_repr_), but a
        # few hundred of them joined are not: _fstring_ adds up their lengths first.
        node = self.node_contents_visit(node)
        parts = [
            v.value if isinstance(v, ast.FormattedValue) and v.format_spec is None else v
            for v in node.values
        ]
        new = _call("_fstring_", *parts)
        copy_locations(new, node)
        return new

    # names and attributes ----------------------------------------------------------------
    def visit_Name(self, node: ast.Name) -> Any:
        allowed = SCRIPT_ONLY_NAMES if self.script else frozenset()
        if node.id in FORBIDDEN_NAMES and node.id not in allowed:
            self.error(node, f"{node.id!r} is not available to formulas and scripts")
            return node
        return super().visit_Name(node)

    def visit_Attribute(self, node: ast.Attribute) -> Any:
        if node.attr in ("format", "format_map", "mro"):
            self.error(node, f'"{node.attr}" is not allowed (use + and format_number(); '
                       f'a field called {node.attr!r} is read as doc[{node.attr!r}])')
        return super().visit_Attribute(node)

    # operators ---------------------------------------------------------------------------
    def visit_BinOp(self, node: ast.BinOp) -> Any:
        node = self.node_contents_visit(node)
        op = _BINOPS.get(type(node.op))
        if op is None:
            self.refuse(node, f"the operator {type(node.op).__name__} is")
            return node
        new = _call("_binop_", ast.Constant(op), node.left, node.right)
        copy_locations(new, node)
        return new

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Any:
        # ~x is x ^ -1 for whole numbers (and a TypeError for anything else, either way):
        # through _binop_, its result is held to the number limit like every other
        # (~(2**4096 - 1) has a bit more than its operand).
        node = self.node_contents_visit(node)
        if not isinstance(node.op, ast.Invert):
            return node
        new = _call("_binop_", ast.Constant("^"), node.operand, ast.Constant(-1))
        copy_locations(new, node)
        return new

    def visit_Compare(self, node: ast.Compare) -> Any:
        node = self.node_contents_visit(node)
        if self.script:  # a script's CPU timer interrupts any step
            return node
        new = _call("_compared_", node)
        copy_locations(new, node)
        return new

    def visit_Dict(self, node: ast.Dict) -> Any:
        # {**m} copies m in one step, uncounted: the memory budget of formulas sees only
        # what builtins and operators build.
        if not self.script and any(key is None for key in node.keys):
            self.refuse(node, "'**' unpacking is", "use dict(m) to copy a mapping")
            return node
        return self.node_contents_visit(node)

    def visit_Call(self, node: ast.Call) -> Any:
        if not self.script and (
            any(isinstance(a, ast.Starred) for a in node.args)
            or any(k.arg is None for k in node.keywords)
        ):
            self.refuse(node, "*args and **kwargs are")
        return super().visit_Call(node)

    # refused in expressions -------------------------------------------------------------
    def _no_loops(self, node: ast.AST, what: str) -> Any:
        if self.script:
            return getattr(super(), f"visit_{type(node).__name__}")(node)
        self.refuse(node, what, "use sum_of(), count_of(), where() and friends")
        return node

    def visit_ListComp(self, node: ast.ListComp) -> Any:
        return self._no_loops(node, "comprehensions are")

    visit_SetComp = visit_DictComp = visit_ListComp  # type: ignore[assignment]

    def visit_GeneratorExp(self, node: ast.GeneratorExp) -> Any:
        return self._no_loops(node, "generator expressions are")

    def visit_Lambda(self, node: ast.Lambda) -> Any:
        return self._no_loops(node, "lambda is")

    def visit_NamedExpr(self, node: ast.NamedExpr) -> Any:
        self.refuse(node, "':=' is")
        return node

    def visit_Starred(self, node: ast.Starred) -> Any:
        if not self.script:
            self.refuse(node, "'*' unpacking is")
            return node
        return super().visit_Starred(node)


class ScriptPolicy(ExpressionPolicy):
    """Server scripts: statements, functions and bounded loops, but no way out."""

    script = True

    def visit_Import(self, node: ast.AST) -> Any:
        self.refuse(node, "imports are", "everything a script may use is already there")
        return node

    visit_ImportFrom = visit_Import  # type: ignore[assignment]

    def visit_ClassDef(self, node: ast.ClassDef) -> Any:
        self.refuse(node, "class definitions are")
        return node

    def visit_Yield(self, node: ast.AST) -> Any:
        self.refuse(node, "'yield' is")
        return node

    visit_YieldFrom = visit_Yield  # type: ignore[assignment]

    def visit_Global(self, node: ast.AST) -> Any:
        self.refuse(node, "'global' and 'nonlocal' are", "return values from functions")
        return node

    visit_Nonlocal = visit_Global  # type: ignore[assignment]

    def visit_With(self, node: ast.AST) -> Any:
        self.refuse(node, "'with' statements are")
        return node

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> Any:
        if node.type is None:
            self.refuse(node, "a bare 'except:' is", "write 'except Exception:'")
        return super().visit_ExceptHandler(node)

    def visit_While(self, node: ast.While) -> Any:
        node = self.node_contents_visit(node)
        new = _call("_loop_", node.test)
        copy_locations(new, node.test)
        node.test = new
        return node

    def visit_AugAssign(self, node: ast.AugAssign) -> Any:
        if type(node.op) not in _BINOPS:
            self.refuse(node, f"the operator {type(node.op).__name__} is")
            return node
        return super().visit_AugAssign(node)


#: Characters of a line shown either side of a syntax error's column.
_EXCERPT = 40


def syntax_problem(error: SyntaxError, text: str) -> Problem:
    """A syntax error with its column and the line's excerpt, a caret under the spot:
    "invalid syntax" alone does not say which of a long formula's parts is wrong."""
    lines = text.splitlines() or [""]
    number = min(max(error.lineno or 1, 1), len(lines))
    line = lines[number - 1]
    column = min(max(error.offset or len(line) + 1, 1), len(line) + 1)
    start = max(0, column - 1 - _EXCERPT)
    end = min(len(line), column - 1 + _EXCERPT)
    before, after = ("..." if start else ""), ("..." if end < len(line) else "")
    caret = " " * (len(before) + column - 1 - start) + "^"
    return Problem(number, f"syntax error: {error.msg} (column {column})\n"
                           f"    {before}{line[start:end]}{after}\n    {caret}", "syntax")


def compile_source(
    source: str, *, mode: str, filename: str, lineno: int
) -> tuple[CodeType | None, list[Problem]]:
    """``source`` compiled under the policy for ``mode`` ("eval" or "exec"), or problems.

    Line numbers in the code object (and so in tracebacks) are lines of ``filename``:
    ``lineno`` is the line the source starts on.
    """
    script = mode == "exec"
    limit = MAX_SCRIPT_SOURCE if script else MAX_EXPRESSION_SOURCE
    kind = "script" if script else "formula"
    if type(source) is not str:
        return None, [Problem(1, f"the {kind} must be text", "syntax")]
    if len(source) > limit:
        return None, [Problem(1, f"the {kind} is longer than {limit:,} characters", "size_limit")]
    text = source if script else source.strip()
    if not text:
        return None, [Problem(1, f"the {kind} is empty", "syntax")]
    try:
        tree = ast.parse(text, filename, mode)
    except SyntaxError as e:
        return None, [syntax_problem(e, text)]
    except (RecursionError, MemoryError, ValueError) as e:
        return None, [Problem(1, f"the {kind} is too deeply nested ({e})", "syntax")]
    policy = (ScriptPolicy if script else ExpressionPolicy)([], [], {})
    try:
        tree = policy.visit(tree)
    except RecursionError:
        return None, [Problem(1, f"the {kind} is too deeply nested", "syntax")]
    if policy.errors:
        problems = policy.problems or [Problem(1, e) for e in policy.errors]
        return None, sorted(dict.fromkeys(problems), key=lambda p: p.lineno)
    ast.fix_missing_locations(tree)
    if lineno > 1:
        ast.increment_lineno(tree, lineno - 1)
    try:
        return compile(tree, filename, mode), []
    except (SyntaxError, RecursionError, ValueError) as e:
        return None, [Problem(getattr(e, "lineno", None) or 1, f"syntax error: {e}", "syntax")]
