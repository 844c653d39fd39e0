"""Escape attempts. Each must be refused with a specific message and leave no trace.

Advisories covered (RestrictedPython, version 9.0 in use):
- GHSA-8fcm-gh7p-vqhm / CVE-2023-37271: generator and coroutine frames (``gi_frame``,
  ``f_back``, ``f_globals``) reached from sandboxed code.
- GHSA-wqc8-x2pr-7jqh / CVE-2023-41039: ``str.format``/``format_map`` and ``string.Formatter``
  attribute access inside replacement fields (``"{0.__class__}".format(x)``).
- GHSA-xjw2-6jm9-rf67 / CVE-2024-47532: information leak through ``string.Formatter``
  (``AttributeDelegator`` exposing ``string``): we give no ``string`` module at all.
- CVE-2025-22153: ``try/except*`` (``TryStar``) type confusion: refused by syntax.
"""

from __future__ import annotations

import os

import pytest

from yiti.scripting import (
    ExpressionError,
    ScriptError,
    check_expression,
    evaluate,
    record_names,
    record_proxy,
)
from yiti.scripting.access import guarded_write, make_getattr
from yiti.scripting.errors import SandboxViolation
from yiti.scripting.guards import EXPRESSION_LIMITS
from yiti.scripting.names import sum_of


def refused(source: str, code: str, fragment: str, names: dict | None = None) -> ExpressionError:
    with pytest.raises(ExpressionError) as e:
        evaluate(source, names or {"x": 1, "s": "abc", "doc": record_proxy({"a": 1})})
    assert e.value.code == code, e.value.message
    assert fragment in e.value.message, e.value.message
    return e.value


# -- attribute walks ------------------------------------------------------------------------

@pytest.mark.parametrize("source", [
    "().__class__.__bases__[0].__subclasses__()",
    "x.__class__",
    "doc.__dict__",
    "sum_of.__globals__",
    "today.__builtins__",
    "s.__class__.__mro__",
    "doc._values",
])
def test_dunder_and_private_attribute_walks(source: str) -> None:
    refused(source, "forbidden", "starts with")


def test_private_attribute_by_item_is_refused() -> None:
    refused("doc['__class__']", "forbidden", "private")


def test_mro_method_refused() -> None:
    refused("s.mro()", "forbidden", '"mro" is not allowed')


# -- str.format and format_map (CVE-2023-41039) --------------------------------------------

def test_str_format_attribute_walk() -> None:
    """GHSA-wqc8-x2pr-7jqh: '{0.__class__}'.format(x) reaches attributes unguarded."""
    refused("'{0.__class__.__init__.__globals__}'.format(x)", "forbidden", '"format" is not allowed')


def test_format_map_attribute_walk() -> None:
    refused("'{a.__globals__}'.format_map({'a': sum_of})", "forbidden", '"format_map"')


def test_format_reached_at_run_time_is_refused_too() -> None:
    getattr_ = make_getattr(EXPRESSION_LIMITS)
    for name in ("format", "format_map", "__class__", "gi_frame", "encode"):
        with pytest.raises(SandboxViolation):
            getattr_("{0}", name)


def test_string_formatter_route_unavailable() -> None:
    """GHSA-xjw2-6jm9-rf67: no ``string`` module, so no ``string.Formatter``."""
    e = refused("string.Formatter().vformat('{0.__class__}', (1,), {})", "runtime", "unknown name")
    assert "'string'" in e.message


def test_fstring_format_spec_refused() -> None:
    refused("f'{x:>1000000000}'", "forbidden", "format specifications")


# -- frames, tracebacks, introspection (CVE-2023-37271) -----------------------------------

def test_generator_frame_in_expression_refused() -> None:
    """GHSA-8fcm-gh7p-vqhm: generator expressions are not even allowed in formulas."""
    source = "(i for i in s).gi_frame.f_back.f_globals"
    refused(source, "forbidden", "")
    messages = [p.message for p in check_expression(source)]
    assert any("generator expressions are not allowed" in m for m in messages)
    assert any('"gi_frame" is a restricted name' in m for m in messages)


@pytest.mark.parametrize("source,fragment", [
    ("g = (i for i in [1])\nf = g.gi_frame", "gi_frame"),
    ("f = x.f_back", "f_back"),
    ("f = x.f_globals", "f_globals"),
    ("f = x.cr_frame", "cr_frame"),
    ("f = x.tb_frame", "tb_frame"),
    ("try:\n    1/0\nexcept Exception as e:\n    t = e.__traceback__", "__traceback__"),
])
def test_frame_attributes_refused_in_scripts(runner, source: str, fragment: str) -> None:
    with pytest.raises(ScriptError) as e:
        runner.run(source, inputs={"x": 1})
    assert e.value.code == "forbidden" and fragment in e.value.message


def test_computed_getattr_of_frames_refused(runner) -> None:
    source = "g = (i for i in [1])\nresult = getattr(g, 'gi' + '_frame')"
    with pytest.raises(ScriptError) as e:
        runner.run(source)
    assert e.value.code == "forbidden" and "gi_frame" in e.value.message


def test_computed_getattr_of_dunder_refused(runner) -> None:
    with pytest.raises(ScriptError) as e:
        runner.run("result = getattr(1, '_' + '_class__')")
    assert e.value.code == "forbidden" and "private" in e.value.message


def test_getattr_not_available_in_formulas() -> None:
    refused("getattr(x, '__class__')", "forbidden", "'getattr' is not available")


@pytest.mark.parametrize("name", ["type", "vars", "dir", "globals", "locals", "open",
                                  "__import__", "eval", "exec", "compile", "breakpoint"])
def test_introspection_and_io_names_unavailable(name: str) -> None:
    with pytest.raises(ExpressionError) as e:
        evaluate(f"{name}('x')")
    assert e.value.code == "forbidden"


def test_type_metaclass_trick_refused(runner) -> None:
    with pytest.raises(ScriptError) as e:
        runner.run("C = type('x', (), {})")
    assert e.value.code == "forbidden"
    with pytest.raises(ScriptError) as e:
        runner.run("class C(metaclass=M):\n    pass")
    assert "class definitions are not allowed" in e.value.message


def test_exception_traceback_not_reachable(runner) -> None:
    src = "try:\n    1/0\nexcept Exception as e:\n    result = getattr(e, 'with_traceback')"
    with pytest.raises(ScriptError) as e:
        runner.run(src)
    assert e.value.code == "forbidden"


def test_except_star_refused(runner) -> None:
    """CVE-2025-22153: try/except* is refused at compile time."""
    with pytest.raises(ScriptError) as e:
        runner.run("try:\n    pass\nexcept* Exception:\n    pass")
    assert e.value.code == "forbidden"


# -- files, environment, sockets, imports --------------------------------------------------

def test_open_file_refused(runner, tmp_path) -> None:
    target = tmp_path / "x.txt"
    with pytest.raises(ScriptError) as e:
        runner.run(f"open({str(target)!r}, 'w').write('x')")
    assert e.value.code == "forbidden" and not target.exists()


@pytest.mark.parametrize("source", [
    "import os", "from os import system", "import socket\nsocket.socket()",
    "from subprocess import run", "import os.path as p",
])
def test_import_statements_refused(runner, source: str) -> None:
    with pytest.raises(ScriptError) as e:
        runner.run(source)
    assert e.value.code == "forbidden" and "imports are not allowed" in e.value.message


@pytest.mark.parametrize("source", [
    "result = __import__('os').environ",
    "result = __loader__",
    "result = __spec__",
    "result = __builtins__",
])
def test_import_routes_refused(runner, source: str) -> None:
    with pytest.raises(ScriptError) as e:
        runner.run(source)
    assert e.value.code == "forbidden"


def test_environment_is_empty_in_workers(runner, monkeypatch) -> None:
    # Even with an escape, the worker has no secrets: it clears its environment.
    assert "PATH" in os.environ
    with pytest.raises(ScriptError) as e:
        runner.run("result = environ")
    assert "unknown name 'environ'" in e.value.message


# -- memory and number bombs --------------------------------------------------------------

@pytest.mark.parametrize("source,what", [
    ("'a' * 10**10", "repeated text"),
    ("[0] * 10**10", "repeated list"),
    ("[[0] * 100000] * 100000", "repeated list"),
    ("'x'.ljust(10**10)", "ljust()"),
    ("'x'.center(10**9, 'y')", "center()"),
    ("'x'.zfill(10**9)", "zfill()"),
    ("('\\t' * 1000).expandtabs(10**6)", "expandtabs()"),
    ("('a' * 1000).replace('', 'b' * 1000)", "replace()"),
    ("('a' * 1000).join(['b' * 100] * 1000)", "joined text"),
    ("list(range(10**9))", "range"),
    ("9**9**9**9", "power"),
    ("pow(10, 10**8)", "power"),
    ("1 << 10**9", "shifted"),
    ("(10**1000) * (10**1000)", "product"),
    ("int('9' * 10**5)", "whole number"),
    ("int(decimal('1e999999'))", "whole number"),
    ("round(decimal('1e999999'))", "whole number"),
    ("str([['x' * 1000] * 50] * 10)", "text"),
])
def test_size_bombs_refused_before_computing(source: str, what: str) -> None:
    refused(source, "size_limit", what)


def test_power_built_in_steps_is_refused(runner) -> None:
    src = "x = 10\nfor i in range(20):\n    x = x ** 2"
    with pytest.raises(ScriptError) as e:
        runner.run(src)
    assert e.value.code == "size_limit" and e.value.lineno == 3


def test_int_of_huge_text_refused(runner) -> None:
    with pytest.raises(ScriptError) as e:
        runner.run("result = int('9' * 10**6)")
    assert e.value.code == "size_limit"


def test_percent_formatting_of_text_refused() -> None:
    refused("'%1000000000d' % 1", "forbidden", "'%' formatting")


# -- writes to shared objects --------------------------------------------------------------

def test_records_refuse_every_write() -> None:
    proxy = record_proxy({"a": 1})
    with pytest.raises(SandboxViolation):
        guarded_write(proxy)
    for attempt in (lambda: setattr(proxy, "a", 2), lambda: proxy.__setitem__("a", 2),
                    lambda: delattr(proxy, "a")):
        with pytest.raises(SandboxViolation):
            attempt()
    assert proxy.a == 1


def test_helper_attribute_assignment_refused_and_unseen(runner) -> None:
    with pytest.raises(ScriptError) as e:
        runner.run("sum_of.cache = {'x': 1}")
    assert e.value.code == "forbidden"
    assert not hasattr(sum_of, "cache")
    assert runner.run("result = hasattr(sum_of, 'cache')").value is False


def test_mutating_shared_inputs_is_not_seen_by_the_next_run(runner) -> None:
    with pytest.raises(ScriptError) as e:
        runner.run("settings['rate'] = 0", inputs={"settings": {"rate": 5}})
    assert e.value.code == "forbidden"
    # A script's own globals (even rebinding a helper) don't survive into the next run.
    runner.run("sum_of = lambda rows, f: 0\nlen = None")
    assert runner.run("result = sum_of([1, 2], None) + len('ab')").value == 5


def test_formula_cannot_mutate_given_lists() -> None:
    given = {"tags": ["a"]}
    refused("tags.append('b')", "forbidden", "tuple", given)
    assert given["tags"] == ["a"]


def test_readonly_record_in_names_cannot_be_mutated() -> None:
    names = record_names({"qty": 1}, {"lines": [{"q": 1}]})
    refused("lines.append(1)", "forbidden", "tuple", names)
