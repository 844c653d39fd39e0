"""Resource limits and messages found by the sandbox red-team run.

Text built by str(), repr() and f-strings stays within the text limit however it is nested;
records, maps and exceptions weigh what they hold; a script's record calls are counted and
timed; and what goes wrong says so in words an analyst can act on.
"""

from __future__ import annotations

import time
from collections import namedtuple
from decimal import Decimal
from enum import IntEnum
from typing import Any

import pytest
from markupsafe import Markup

from yiti.errors import ValidationError
from yiti.scripting import ExpressionError, ScriptError, ScriptRunner, codec, evaluate, record_names
from yiti.scripting.guards import weight
from yiti.scripting.proxies import Doc, FrozenMap, record_proxy
from yiti.scripting.scripts import _Failed

from .conftest import FakeHost


def refused(source: str, names: dict[str, Any] | None = None) -> ExpressionError:
    with pytest.raises(ExpressionError) as e:
        evaluate(source, names or {})
    return e.value


# -- text: str(), repr(), f-strings ---------------------------------------------------------

@pytest.mark.parametrize("source", [
    "repr('\\\\' * 60000)",  # each backslash doubles: 120,002 characters
    "repr(repr('\\\\' * 30000))",
    "repr(repr(repr(repr(repr(repr(repr(repr(repr(repr(repr(repr('\\\\' * 100000))))))))))))",
    "f'''{f\"{f'{s!r}'!r}\"!r}'''",
    "str(['\\\\' * 40000] * 2)",  # light enough to build, too long once escaped
    "repr(chr(0xE0001) * 20000)",  # '\\U000e0001': 10 characters each
    "f'{(chr(0xE9) * 60000)!a}'",  # '\\xe9': 4 characters each
])
def test_text_from_str_and_repr_is_held_to_the_limit(source: str) -> None:
    started = time.thread_time()  # CPU of this thread: the same on a busy machine
    e = refused(source, {"s": "\\" * 20000})
    assert e.code == "size_limit" and "the text would be too large" in e.message
    assert time.thread_time() - started < 1


def test_text_within_the_limit_is_still_rendered() -> None:
    assert len(evaluate("repr('a' * 99000)")) == 99002
    assert len(evaluate("repr('\\\\' * 49999)")) == 100000
    assert evaluate("repr(chr(0) * 3)") == repr("\x00" * 3)
    assert evaluate("f'{s!r}'", {"s": "it's"}) == '"it\'s"'


def test_repr_nesting_in_a_script_is_a_size_limit_not_memory(runner) -> None:
    source = "s = '\\\\' * 1000000\nfor i in range(10):\n    s = repr(s)\nresult = len(s)"
    with pytest.raises(ScriptError) as e:
        runner.run(source)
    assert (e.value.code, e.value.lineno) == ("size_limit", 3)


def test_print_and_log_refuse_before_joining(runner) -> None:
    many = "x = 'x' * 1000000\nparts = []\nfor i in range(50):\n    parts.append(x)\n"
    for source in ("print(*range(1000), sep='x' * 1000000)", many + "log(*parts)"):
        with pytest.raises(ScriptError) as e:
            runner.run(source)
        assert e.value.code == "output_limit", source


# -- text: f-strings joined, case mappings, padding and joining -----------------------------

class Text(str):
    """Text of a subclass of str, as a caller's names might hold."""


class Width(int):
    """A whole number of a subclass of int (as an IntEnum is)."""


@pytest.mark.parametrize("source", [
    "f'" + "{s}" * 1300 + "'",  # 3,902 characters of formula, 128 million of text
    "f'{s}{s}'",
    "f'{s!r}-{s!a}'",
    "f'{s}' '" + "x" * 2000 + "'",  # literal parts count too
    "f'{f\"{s}{s}\"}'",
])
def test_fstring_parts_joined_are_held_to_the_limit(source: str) -> None:
    started = time.thread_time()  # CPU of this thread: the same on a busy machine
    e = refused(source, {"s": "a" * 99000})
    assert e.code == "size_limit" and "the text would be too large" in e.message
    assert time.thread_time() - started < 1


def test_fstrings_within_the_limit_still_work() -> None:
    names = {"s": "a" * 50000, "x": "é", "qty": 3, "d": Decimal("1.5")}
    assert len(evaluate("f'{s}{s}'", names)) == 100000
    assert evaluate("f'{qty} pcs at {d} ({x!r}, {x!s}, {x!a})'", names) == (
        "3 pcs at 1.5 ('é', é, '\\xe9')")
    assert evaluate("f'{qty=}'", names) == "qty=3"
    assert evaluate("f'{f\"{qty}\"}-{f\"{x}\"!r}'", names) == "3-'é'"
    assert evaluate("f'plain'") == "plain" and evaluate("f''") == ""
    assert evaluate("f'{qty}' + 'x'", names) == "3x"


@pytest.mark.parametrize("source", ["f'{x:>10}'", "f'{d:%Y}'", "f'{x:{w}}'", "f'{x!r:>10}'"])
def test_fstring_format_specs_are_still_refused(source: str) -> None:
    e = refused(source, {"x": 1, "d": None, "w": 5})
    assert e.code == "forbidden" and "format specifications" in e.message


def test_fstring_attribute_walks_are_still_refused() -> None:
    e = refused("f'{x.__class__}'", {"x": 1})
    assert e.code == "forbidden" and "__class__" in e.message


def test_fstrings_in_scripts(runner) -> None:
    source = "result = [f'{i}:{s!r}' for i in range(3)]"
    assert runner.run(source, inputs={"s": "é"}).value == ["0:'é'", "1:'é'", "2:'é'"]
    assert runner.run("def f(x):\n    return f'<{x}>'\nresult = f(1)").value == "<1>"
    with pytest.raises(ScriptError) as e:
        runner.run("s = 'a' * 600000\nresult = f'{s}{s}'")
    assert (e.value.code, e.value.lineno) == ("size_limit", 2)


@pytest.mark.parametrize("source,method", [
    ("('\\u00df' * 100000).upper()", "upper"),  # ß -> SS
    ("('\\u0390' * 100000).upper()", "upper"),  # one letter -> three
    ("('\\ufb03' * 100000).casefold()", "casefold"),  # the ffi ligature -> ffi
    ("('\\u0130' * 100000).lower()", "lower"),  # İ -> i and a dot above
    ("('\\u00df ' * 50000).title()", "title"),
    ("('\\u00df' * 100000).swapcase()", "swapcase"),
    ("('\\u0130' * 100000).capitalize()", "capitalize"),
])
def test_case_mappings_that_grow_text_are_held_to_the_limit(source: str, method: str) -> None:
    e = refused(source)
    assert e.code == "size_limit" and f"the result of {method}()" in e.message


def test_case_mappings_within_the_limit_still_work() -> None:
    assert evaluate("'Straße'.upper()") == "STRASSE"
    assert evaluate("'Straße'.casefold()") == "strasse"
    assert evaluate("'ÉCOLE ÉTÉ'.lower().title()") == "École Été"
    assert evaluate("'ßa'.swapcase() + 'éa'.capitalize()") == "SSAÉa"
    assert len(evaluate("('\\u00df' * 50000).upper()")) == 100000
    assert len(evaluate("('a' * 100000).upper()")) == 100000


def test_case_mappings_in_scripts_are_held_to_the_script_limit(runner) -> None:
    with pytest.raises(ScriptError) as e:
        runner.run("s = '\\u00df' * 1000000\nresult = s.upper()")
    assert (e.value.code, e.value.lineno) == ("size_limit", 2)
    assert runner.run("result = len(('\\u00df' * 500000).upper())").value == 1000000


def test_expandtabs_counts_the_tabs() -> None:
    # A tab becomes at most tabsize spaces: long text with few tabs is fine.
    assert len(evaluate("('a' * 20000 + '\\t').expandtabs()")) == 20008
    assert len(evaluate("('\\t' * 10000).expandtabs(10)")) == 100000
    assert evaluate("'a\\tb'.expandtabs(tabsize=4)") == "a   b"
    assert refused("('\\t' * 10001).expandtabs(10)").code == "size_limit"


@pytest.mark.parametrize("source,what", [
    ("'x'.ljust(w)", "ljust()"),
    ("'x'.zfill(w)", "zfill()"),
    ("('\\t' * 100).expandtabs(w)", "expandtabs()"),
    ("('a' * 1000).replace('', t)", "replace()"),
    ("''.join((t, t, t, t))", "joined text"),
])
def test_text_methods_measure_subclasses_too(source: str, what: str) -> None:
    e = refused(source, {"w": Width(200000), "t": Text("b" * 30000)})
    assert e.code == "size_limit" and what in e.message, e.message


def test_percent_formatting_of_a_subclass_of_text_is_refused() -> None:
    e = refused("t % 1", {"t": Text("%200000d")})
    assert e.code == "forbidden" and "'%' formatting" in e.message


# -- weight of records, maps, exceptions and cycles -----------------------------------------

def test_records_maps_and_exceptions_weigh_what_they_hold() -> None:
    big = "x" * 8000
    light = weight(record_proxy({"a": 1}), 10**6)
    assert weight(record_proxy({"note": big}), 10**6) > 1000 > light
    assert weight(record_proxy({}, {"lines": [{"note": big}]}), 10**6) > 1000
    assert weight(Doc({"note": big}), 10**6) > 1000
    assert weight(FrozenMap(note=big), 10**6) > 1000
    assert weight(ValueError(big), 10**6) > 1000
    assert weight({"a": 1}.values(), 10**6) == 2
    # Shared items count where each is printed.
    record = record_proxy({"note": big})
    assert weight((record, record), 10**6) > 2 * weight(record, 10**6) - 1


def test_weight_stops_at_an_object_inside_itself() -> None:
    loop: list[Any] = [1]
    loop.append(loop)
    assert weight(loop, 10**6) == 3
    inner: dict[str, Any] = {}
    outer = [inner, inner]
    inner["back"] = outer
    assert weight(outer, 10**6) < 10


@pytest.mark.parametrize("source", [
    "str((doc,) * 24000)",
    "str((meta,) * 24000)",
    "str(meta)",
    "str((lines,) * 24000)",
])
def test_str_of_repeated_records_and_maps_is_refused(source: str) -> None:
    names = record_names({"note": "n" * 10000}, {"lines": [{"note": "l" * 10000}]},
                         extra={"meta": {f"k{i}": "v" * 90000 for i in range(5)}})
    assert refused(source, names).code == "size_limit"


def test_str_of_a_list_inside_itself(runner) -> None:
    assert runner.run("x = [1]\nx.append(x)\nresult = str(x)").value == "[1, [...]]"


# -- record calls: how many, and how long in all ---------------------------------------------

class SlowHost(FakeHost):
    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def get(self, entity: str, name: Any) -> Any:
        time.sleep(self.seconds)
        return super().get(entity, name)


def test_record_calls_are_capped_per_run(runner, host) -> None:
    source = "n = 0\nwhile True:\n    get_record('customer', 'C-1')\n    n += 1"
    with pytest.raises(ScriptError) as e:
        runner.run(source, host=host, filename="s.yaml", lineno=10)
    assert e.value.code == "call_limit" and "1,000 record calls" in e.value.message
    assert e.value.lineno == 12
    assert len(host.calls) == runner.max_calls == 1000
    assert runner.run("result = 'fine'").value == "fine"


def test_call_limit_cannot_be_caught(runner, host) -> None:
    source = ("for i in range(2000):\n    try:\n        get_record('customer', 'C-1')\n"
              "    except Exception:\n        pass")
    with pytest.raises(ScriptError) as e:
        runner.run(source, host=host)
    assert e.value.code == "call_limit"


def test_the_app_counts_record_calls_too(host) -> None:
    """A worker that doesn't refuse (a bug, or an escape) is stopped by the app."""
    runner = ScriptRunner(pool_size=1, max_calls=3)
    call = codec.dumps({"op": "call", "method": "get", "args": ["customer", "C-1"]})

    class Conn:
        def __init__(self) -> None:
            self.sent: list[bytes] = []

        def poll(self, timeout: float) -> bool:
            return True

        def recv_bytes(self, maxlength: int) -> bytes:
            return call

        def send_bytes(self, data: bytes) -> None:
            self.sent.append(data)

    worker = type("Worker", (), {"conn": Conn()})()
    with pytest.raises(_Failed) as e:
        runner._serve(worker, host, 0, {"filename": "s.yaml", "lineno": 1, "name": "s"})
    assert e.value.recycle and e.value.error.code == "call_limit"  # type: ignore[attr-defined]
    assert len(host.calls) == 3


def test_record_calls_count_against_the_run_time() -> None:
    source = "while True:\n    get_record('customer', 'C-1')"
    with ScriptRunner(pool_size=1, cpu_seconds=1, total_seconds=0.5) as runner:
        started = time.monotonic()
        with pytest.raises(ScriptError) as e:
            runner.run(source, host=SlowHost(0.05))
        assert e.value.code == "timeout" and "0.5 s in all" in e.value.message
        assert time.monotonic() - started < 5  # wall time: room for a busy machine
        assert runner.run("result = 1").value == 1


def test_a_triggered_script_ends_when_its_trigger_must(host) -> None:
    with ScriptRunner(pool_size=1, cpu_seconds=1, total_seconds=0.6) as runner:
        slow = SlowHost(0.05)
        slow.on_create = lambda entity, values: runner.run(
            "while True:\n    get_record('customer', 'C-1')", host=slow)
        with pytest.raises(ScriptError) as e:
            runner.run("get_record('customer', 'C-1')\ncreate_record('task', {})", host=slow)
        assert e.value.code == "timeout" and "triggered this one" in e.value.message


def test_defaults_are_documented() -> None:
    runner = ScriptRunner()
    assert (runner.max_calls, runner.total_seconds) == (1000, 30.0)


# -- messages --------------------------------------------------------------------------------

def test_decimal_overflow_in_a_script_says_what_happened(runner) -> None:
    with pytest.raises(ScriptError) as e:
        runner.run("x = decimal('1e999999') * 10")
    assert e.value.code == "runtime"
    assert "too large" in e.value.message and "<class" not in e.value.message


def test_decimal_overflow_in_a_formula_says_what_happened() -> None:
    e = refused("decimal('1e999999') * 10")
    assert "too large" in e.message and "<class" not in e.message, e.message


@pytest.mark.parametrize("source", ["doc[0]", "list(doc)", "dict(doc)", "tuple(doc)"])
def test_records_are_read_by_field_name(source: str) -> None:
    e = refused(source, record_names({"qty": 1}))
    assert "records are read by field name" in e.message, e.message


def test_doc_is_read_by_field_name_in_scripts(runner) -> None:
    for source in ("result = doc[0]", "for x in doc:\n    pass"):
        with pytest.raises(ScriptError) as e:
            runner.run(source, doc={"qty": 1})
        assert "records are read by field name" in e.value.message


@pytest.mark.parametrize("source,what", [
    ("x = []\nfor i in range(200):\n    x = [x]\nresult = x", "the result"),
    ("x = []\nx.append(x)\nresult = x", "the result"),
    ("doc.lines.append(doc)", "doc"),
])
def test_results_inside_themselves_are_named(runner, source: str, what: str) -> None:
    started = runner.workers_started
    with pytest.raises(ScriptError) as e:
        runner.run(source, doc={"lines": []})
    assert e.value.code == "runtime"
    assert f"{what} contains itself or is nested too deeply" in e.value.message
    assert runner.workers_started == started  # the worker was fine: it is kept


def test_record_call_with_a_value_inside_itself(runner, host) -> None:
    with pytest.raises(ScriptError) as e:
        runner.run("x = []\nx.append(x)\ncreate_record('task', {'x': x})", host=host)
    assert e.value.lineno == 3 and "create_record() contains itself" in e.value.message


def test_a_result_over_16_mb_is_a_size_limit_at_once(runner) -> None:
    source = "x = 'a' * 1000000\nresult = []\nfor i in range(17):\n    result.append(x)"
    started = time.monotonic()
    with pytest.raises(ScriptError) as e:
        runner.run(source)
    assert e.value.code == "size_limit" and "16 MB" in e.value.message
    assert time.monotonic() - started < 5  # wall time: room for a busy machine
    assert runner.run("result = 'fine'").value == "fine"


def test_a_record_call_over_16_mb_is_refused_at_its_line(runner, host) -> None:
    source = "x = 'a' * 1000000\nv = []\nfor i in range(17):\n    v.append(x)\ncreate_record('task', {'v': v})"
    with pytest.raises(ScriptError) as e:
        runner.run(source, host=host)
    assert (e.value.code, e.value.lineno) == ("size_limit", 5)
    assert "create_record()" in e.value.message and "16 MB" in e.value.message
    assert not host.calls


def test_an_answer_over_16_mb_is_refused(runner, host) -> None:
    host.records[("customer", "BIG")] = {"note": "a" * (17 * 1024 * 1024)}
    source = "x = 1\nc = get_record('customer', 'BIG')"
    with pytest.raises(ScriptError) as e:
        runner.run(source, host=host)
    assert (e.value.code, e.value.lineno) == ("size_limit", 2)
    assert "the answer to get_record() is larger than 16 MB" in e.value.message
    assert runner.run("result = get_record('customer', 'C-1').tier", host=host).value == "gold"


def test_inputs_over_16_mb_are_refused_before_sending(runner) -> None:
    with pytest.raises(ScriptError) as e:
        runner.run("result = 1", inputs={"big": "a" * (17 * 1024 * 1024)})
    assert e.value.code == "size_limit" and "16 MB" in e.value.message


@pytest.mark.parametrize("source", ["len(range(10**30))", "range(0, -10**30, -1)"])
def test_huge_ranges_are_a_size_limit(source: str) -> None:
    e = refused(source)
    assert e.code == "size_limit" and "range" in e.message


def test_range_sizes_are_counted_right() -> None:
    for args in [(0,), (5,), (0, 10, 3), (10, 0, -3), (3, 3), (5, 0), (0, 5, -1)]:
        assert evaluate(f"len(range{args})") == len(range(*args))
    assert evaluate("len(range(100000))") == 100000
    assert refused("range(100001)").code == "size_limit"
    assert evaluate("sum_of(values_of(lines, 'q'))", record_names({}, {"lines": [{"q": Decimal(2)}]})) == 2


# -- subclasses of str and int are measured as their base -----------------------------------

class Colour(IntEnum):
    RED = 1
    WIDE = 10**9


@pytest.mark.parametrize("source,what", [
    ("t * 1000", "the repeated text"),  # a str subclass skipped the check (type equality)
    ("1000 * t", "the repeated text"),
    ("t + t + t + t", "the joined text"),
    ("'x' + t + t + t + t", "the joined text"),
    ("'ab' * w", "the repeated text"),  # an int subclass as the count
    ("[0] * w", "the repeated list"),
    ("(t,) * w", "the repeated list"),
    ("c << c", "the shifted number"),
    ("c ** c", "the power"),
    ("repr(big)", "the text"),
    ("str((big, big))", "the text"),
])
def test_subclasses_are_measured_like_their_base(source: str, what: str) -> None:
    names = {"t": Text("t" * 30000), "w": Width(10**9), "c": Colour.WIDE,
             "big": Text("b" * 200000)}
    e = refused(source, names)
    assert e.code == "size_limit" and f"{what} would be too large" in e.message, e.message


def test_a_subclass_result_is_measured_after_its_own_operator() -> None:
    # Markup (from Jinja2's markupsafe) escapes what it is joined with: 30,000 '<' become
    # 120,000 characters, more than the lengths measured before.
    e = refused("m + '<' * 30000", {"m": Markup("")})
    assert e.code == "size_limit" and "the text would be too large" in e.message
    assert evaluate("m + '<b>'", {"m": Markup("<i>")}) == "<i>&lt;b&gt;"


def test_weight_counts_subclasses_of_text_numbers_and_tuples() -> None:
    Pair = namedtuple("Pair", "a b")
    assert weight(Text("x" * 8000), 10**6) > 1000
    assert weight((Text("x" * 8000),), 10**6) > 1000
    assert weight(Pair("x" * 8000, 1), 10**6) > 1000
    assert weight([Colour.WIDE], 10**6) == 2
    assert weight(Decimal(10**1200), 10**6) > 100  # decimal(10**1200) prints 1,201 digits


# -- whole numbers: 4,096 bits, however they are made ---------------------------------------

LIMIT = "numbers have at most 4,096 bits"


@pytest.mark.parametrize("source,what", [
    ("int('f' * 1025, 16)", "the whole number"),  # 4,100 bits from 1,025 digits
    ("int('f' * 1233, 16)", "the whole number"),  # was 4,932 bits: digits were counted as decimal ones
    ("int('z' * 800, 36)", "the whole number"),
    ("int('0x' + 'f' * 1025, 0)", "the whole number"),
    ("int('1' * 4097, 2)", "the whole number"),
    ("2 ** 4096", "the power"),
    ("x + x", "the number"),
    ("x * 2", "the product"),
    ("x << 1", "the shifted number"),
    ("~x", "the number"),  # ~x is -x - 1: a bit more
    ("x + True", "the number"),
    ("sum((x, x))", "the sum"),
    ("sum_of((x, x))", "the sum"),
    ("round(x, -1)", "the whole number"),
    ("floor(decimal(x) * 2)", "the whole number"),
    ("int(decimal(10) ** 1234)", "the whole number"),
])
def test_whole_numbers_are_held_to_the_limit(source: str, what: str) -> None:
    e = refused(source, {"x": 2**4096 - 1})
    assert e.code == "size_limit" and f"{what} would be too large ({LIMIT}" in e.message, (
        e.message)


def test_whole_numbers_up_to_the_limit_still_work() -> None:
    assert evaluate("int('f' * 1024, 16)") == 2**4096 - 1
    assert evaluate("int('1' * 4096, 2)") == 2**4096 - 1
    assert evaluate("int('0x' + 'f' * 1024, 0)") == 2**4096 - 1
    assert evaluate("int('9' * 1233)") == 10**1233 - 1
    assert evaluate("int(' -1_000 ')") == -1000
    assert evaluate("2 ** 4095 + (2 ** 4095 - 1)") == 2**4096 - 1
    assert evaluate("(2 ** 4095 - 1) * 2") == 2**4096 - 2
    assert evaluate("(1 - 2 ** 4095) * 2") == 2 - 2**4096
    assert evaluate("~5 + ~True") == -8
    assert evaluate("floor(decimal(10) ** 1232)") == 10**1232


def test_script_whole_numbers_are_held_to_the_same_limit(runner) -> None:
    with pytest.raises(ScriptError) as e:
        runner.run("x = 2 ** 4095\nx += x")
    assert (e.value.code, e.value.lineno) == ("size_limit", 2) and LIMIT in e.value.message
    with pytest.raises(ScriptError) as e:
        runner.run("y = 1\nx = int('f' * 1233, 16)")
    assert (e.value.code, e.value.lineno) == ("size_limit", 2)


def test_pow_with_a_modulus_is_bounded() -> None:
    # 0.2 s a call at 4,096 bits, and a formula can hold a hundred of them
    e = refused("pow(3, 2 ** 300, 7 ** 100)")
    assert e.code == "size_limit" and "modulus of at most 256 bits" in e.message
    assert refused("pow(3, 5, 2 ** 300)").code == "size_limit"
    assert evaluate("pow(3, 2 ** 255, 2 ** 255 - 19)") == pow(3, 2**255, 2**255 - 19)


# -- messages: throw(), errors, notify() ----------------------------------------------------

def test_throw_cuts_a_long_message(runner) -> None:
    with pytest.raises(ValidationError) as e:
        runner.run("throw('x' * 1000000, 'f' * 1000)")
    problem = e.value.problems[0]
    assert len(problem.message) == 2000
    assert problem.message.endswith("… (cut: 1,000,000 characters in all)")
    assert problem.message.startswith("x" * 1900)
    assert len(problem.field) == 200


def test_throw_keeps_a_message_within_the_limit(runner) -> None:
    with pytest.raises(ValidationError) as e:
        runner.run("throw('é' * 2000, 'customer')")
    assert e.value.problems[0].message == "é" * 2000
    assert e.value.problems[0].field == "customer"


def test_error_messages_are_cut() -> None:
    e = refused("{}[k]", {"k": "k" * 99999})
    assert e.code == "runtime" and "(cut: 100,009 characters in all)" in e.reason
    assert len(e.reason) == 2000


def test_notify_bounds_its_text(runner, host) -> None:
    for source, what in [("notify('ann', 's', 'b' * 64001)", "the body"),
                         ("notify('ann', 's' * 256)", "the subject")]:
        with pytest.raises(ScriptError) as e:
            runner.run(source, host=host)
        assert e.value.code == "size_limit" and f"{what} given to notify()" in e.value.message
    runner.run("notify('ann', 'Order approved', 'b' * 64000)", host=host)
    assert host.calls[-1][:3] == ("notify", "ann", "Order approved")


@pytest.mark.parametrize("source", [
    "add_days(today(), 10**20)", "add_months(today(), 10**30)", "add_years(today(), -10**5)",
    "add_months(date(1, 1, 1), -1)",
])
def test_dates_out_of_range_say_so(source: str) -> None:
    e = refused(source)
    assert "the date would be out of range (years 1 to 9999)" in e.message, e.message


# -- sets and dicts of values sharing a hash --------------------------------------------------

M = 2**61 - 1  # Python hashes whole numbers by their remainder by this


@pytest.mark.parametrize("source", [
    f"set(range(0, 20000 * {M}, {M}))",  # took 19 s in the web process
    f"set().union(range(0, 20000 * {M}, {M}))",
    "dict(values_of(rows, 'pair'))",
    "set(values_of(rows, 'amount'))",  # decimals hash like the whole numbers they equal
])
def test_a_flood_of_values_sharing_a_hash_is_refused(source: str) -> None:
    rows = [{"pair": (i * M, i), "amount": Decimal(i * M)} for i in range(2000)]
    started = time.thread_time()  # CPU of this thread: the same on a busy machine
    e = refused(source, record_names({}, {"rows": rows}))
    assert e.code == "size_limit" and "more than 256 of these values share a hash" in e.message
    assert time.thread_time() - started < 1


def test_sets_of_ordinary_values_are_built() -> None:
    rows = [{"sku": f"S-{i % 50}", "qty": i % 7} for i in range(5000)]
    names = record_names({}, {"lines": rows})
    assert evaluate("len(set(values_of(lines, 'sku')))", names) == 50
    assert evaluate("sorted(set(values_of(lines, 'qty')))", names) == [0, 1, 2, 3, 4, 5, 6]
    assert evaluate("len(set((1, 1.0, True, decimal(1), -1, -2)))") == 3  # -1, -2: one hash
    assert evaluate(f"len(set(range(0, 256 * {M}, {M})))") == 256
