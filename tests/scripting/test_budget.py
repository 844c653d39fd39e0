"""The memory budget of a formula evaluation (budget.py).

Each operation was bounded on its own, but a 4,000-character formula could hold a few
hundred of them, each building its largest value: ``(list(range(99999)), ...)`` held about
800 MB of the web process. Now everything one evaluation builds is charged to an account of
8 MB, kept or not.
"""

from __future__ import annotations

import threading
import tracemalloc
from typing import Any

import pytest

from yiti.scripting import ExpressionError, ScriptRunner, evaluate, record_names
from yiti.scripting.guards import EXPRESSION_LIMITS

BUDGET = "past its 8 MB of memory"


def repeated(part: str, times: int) -> str:
    return "(" + ", ".join([part] * times) + ")"


def over_budget(source: str, names: dict[str, Any] | None = None) -> ExpressionError:
    with pytest.raises(ExpressionError) as e:
        evaluate(source, names or {})
    assert e.value.code == "memory_limit", e.value.message
    assert BUDGET in e.value.message, e.value.message
    return e.value


def test_the_budget_is_the_documented_one() -> None:
    assert EXPRESSION_LIMITS.max_memory == 8 * 1024 * 1024


# Each part is within every per-value limit; together they are not. The message names
# the operation that went past the budget.
@pytest.mark.parametrize("part,what", [
    ("list(range(99999))", "the list"),
    ("tuple(range(99999))", "the tuple"),
    ("set(range(99999))", "the set"),
    ("sorted(range(99999))", "the sorted list"),
    ("[0] * 49999", "the repeated list"),
    ("t + t", "the joined list"),
    ("chr(1114111) * 99999", "the repeated text"),
    ("h + h", "the joined text"),
    ("f'{h}{h}'", "the text"),
    ("repr(s)", "the text"),
    ("s.upper()", "the result of upper()"),
    ("s.replace('x', 'y')", "the result of replace()"),
    ("s.split('x')", "the result of split()"),
    ("'x'.ljust(99999, '\u4e2d')", "the result of ljust()"),
    ("'-'.join(h)", "the result of join()"),
    ("s[::-1]", "the slice"),
    ("dict(m)", "the dict"),
    ("values_of(rows, None)", "the result of values_of()"),
    ("set(rows).union(range(99999))", "the result of union()"),
])
def test_many_parts_within_the_limits_go_past_the_budget(part: str, what: str) -> None:
    names = {"s": "x\u4e2d" * 49999, "h": "x\u4e2d" * 25000, "t": tuple(range(40000)),
             "m": {f"k{i}": i for i in range(50000)}, "rows": tuple(range(99999))}
    e = over_budget(repeated(part, 40), names)
    assert f"{what} would take the formula {BUDGET}" in e.message, e.message


def test_sorted_with_a_key_counts_the_keys() -> None:
    # str() of each item is a new text, all kept while sorting
    assert "the text would take" in over_budget("sorted(range(99999), key=str)").message


def test_peak_memory_stays_near_the_budget() -> None:
    """40 lists of 99,999 numbers took 160 MB; the budget stops the third."""
    tracemalloc.start()
    try:
        for source in (repeated("list(range(99999))", 40),
                       repeated("list('\u4e2d' * 99999)", 20),
                       repeated("chr(1114111) * 99999", 40)):
            tracemalloc.reset_peak()
            with pytest.raises(ExpressionError) as e:
                evaluate(source)
            assert e.value.code == "memory_limit"
            _, peak = tracemalloc.get_traced_memory()
            assert peak < 24 * 1024 * 1024, (source[:40], peak)
    finally:
        tracemalloc.stop()


def test_each_evaluation_has_the_whole_budget() -> None:
    big = "len(list(range(90000)))"  # 5.8 MB of the 8
    for _ in range(3):
        assert evaluate(big) == 90000
    over_budget(f"{big} + {big}")
    assert evaluate(big) == 90000  # a refusal doesn't spend the next evaluation's


def test_each_thread_has_its_own_account() -> None:
    results: list[Any] = []

    def work() -> None:
        for _ in range(10):
            results.append(evaluate("len(list(range(90000)))"))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [90000] * 40


def test_business_formulas_are_not_charged_noticeably() -> None:
    names = record_names({"first": "Ada", "last": "Lovelace", "qty": 3, "code": "ab-12"},
                         {"lines": [{"amount": 1}] * 500})
    assert evaluate("first + ' ' + last", names) == "Ada Lovelace"
    assert evaluate("f'{qty} pcs of {code.upper()[:2]}'", names) == "3 pcs of AB"
    assert evaluate("sum_of(lines, 'amount') + len(sorted(values_of(lines, 'amount')))",
                    names) == 1000
    # the largest single values the per-value limits allow still fit
    assert len(evaluate("'\u4e2d' * 100000")) == 100000
    assert evaluate("len(set(range(100000)))") == 100000


def test_unchanged_text_is_not_charged() -> None:
    # strip() of text with nothing to strip returns the same text: no copy, no charge
    assert evaluate(repeated("s.strip()", 200) + "[0] == s", {"s": "x" * 99999})


def test_scripts_have_no_budget(runner: ScriptRunner) -> None:
    # Their worker is bounded by RLIMIT_AS; a loop builds and drops far more than 8 MB.
    source = "n = 0\nfor i in range(40):\n    n += len('x' * 999999)\nresult = n"
    assert runner.run(source).value == 40 * 999999


def test_dict_unpacking_is_refused_in_formulas() -> None:
    # {**m} copied m uncounted: 700 copies of a 50,000-key map held 1.2 GB
    with pytest.raises(ExpressionError) as e:
        evaluate("{**m}", {"m": {"a": 1}})
    assert e.value.code == "forbidden" and "'**' unpacking" in e.value.message
    assert evaluate("dict(m)", {"m": {"a": 1}}) == {"a": 1}
