"""The CPU time of a formula evaluation (cpu.py).

Formulas have no loops, but a 4,000-character one holds a few hundred operations, each of
which may scan a value the record holds: ``(max(l), max(l), ...)`` over a list of 100,000
numbers used about 0.3-0.7 s of the web process's CPU on every save. Times here are the
test thread's own CPU time (``time.thread_time``), the same on a busy machine.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from yiti.scripting import ExpressionError, cpu, evaluate

MAX_SOURCE = 4_000
BIG = {"l": tuple(range(100_000))}  # a tuple is not copied again each time


def repeated(part: str) -> str:
    """``(part, part, ...)`` as long as a formula may be."""
    return "(" + ",".join([part] * ((MAX_SOURCE - 2) // (len(part) + 1))) + ")"


@pytest.fixture
def limit() -> Iterator[None]:
    """Tests may change the process's limit; it is put back after."""
    before = cpu.cpu_limit()
    yield
    cpu.set_cpu_limit(before)


pytestmark = pytest.mark.skipif(not cpu.enforced(), reason="no per-thread CPU clocks here")


@pytest.mark.parametrize("part", [
    "max(l)",  # a builtin scanning a list
    "-1 in l",  # a comparison alone: no call in sight but the one the policy adds
    "l == l",
    "l.count(-1)",  # a method
    "sum(l)",
])
def test_a_formula_past_its_cpu_time_is_stopped(part: str, limit: None) -> None:
    # Each whole formula takes 0.3-0.7 s; with a limit of 0.02 s (a tick of 5 ms) it ends
    # within a fraction of that, comparisons included.
    source = repeated(part)
    cpu.set_cpu_limit(0.02)
    evaluate("1", {})  # this thread's clock exists before the timing starts
    used = []
    # On a machine loaded by other processes the watchdog thread may wake late (its
    # sleep is wall time): of three tries, one must end within the bound.
    for _ in range(3):
        started = time.thread_time()
        with pytest.raises(ExpressionError) as e:
            evaluate(source, BIG, filename="entities/order.yaml", lineno=7,
                     name="order.score")
        used.append(time.thread_time() - started)
        assert e.value.code == "cpu_limit"
        assert "used more than its 0.02 s of CPU time" in e.value.message
        assert str(e.value).startswith("entities/order.yaml:7: order.score: ")
        if used[-1] < 0.15:  # the limit and a few ticks (and the source compiled first)
            break
    assert min(used) < 0.15, used


def test_the_limit_is_configurable_and_a_formula_within_it_runs(limit: None) -> None:
    source = repeated("max(l)")
    cpu.set_cpu_limit(30)
    assert evaluate(source, BIG)[0] == 99_999  # 0.3-0.7 s of CPU: within 30 s
    cpu.set_cpu_limit(0.02)
    with pytest.raises(ExpressionError, match="its 0.02 s of CPU time"):
        evaluate(source, BIG)
    for wrong in (0, -1):
        with pytest.raises(ValueError, match="more than 0 seconds"):
            cpu.set_cpu_limit(wrong)


def test_the_default_is_the_documented_one_and_the_environment_sets_it() -> None:
    assert cpu.DEFAULT_SECONDS == 0.1
    docs = (Path(__file__).parents[2] / "docs" / "scripting.md").read_text()
    assert "formulas: 0.1 s of CPU per evaluation" in docs
    assert "YITI_FORMULA_CPU_SECONDS" in docs
    code = "from yiti.scripting import cpu; print(cpu.cpu_limit())"
    env = dict(os.environ, YITI_FORMULA_CPU_SECONDS="0.25")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "0.25"


def test_comparisons_keep_their_values() -> None:
    # each comparison is wrapped in a call (policy.py); chains and `in` are unchanged
    assert evaluate("1 < 2 < 3") is True
    assert evaluate("3 > 2 > 2") is False
    assert evaluate("'b' in 'abc' and 2 not in (1, 3)") is True
    assert evaluate("x if x == 1 else 0", {"x": 1}) == 1


def test_the_exception_never_lands_outside_an_evaluation(limit: None) -> None:
    # Evaluations just past a tiny limit, in several threads, end and start again as the
    # watchdog fires: each refusal is an ExpressionError from evaluate itself, and
    # nothing reaches the code around it.
    cpu.set_cpu_limit(0.003)
    stray: list[BaseException] = []
    refused: list[ExpressionError] = []

    def work(seed: int) -> None:
        rng = random.Random(seed)
        finish = time.monotonic() + 1.5
        while time.monotonic() < finish:
            try:
                try:
                    evaluate("(" + ",".join(["max(l)"] * rng.randrange(1, 40)) + ")", BIG)
                except ExpressionError as e:
                    refused.append(e)
                sum(range(rng.randrange(10_000)))  # the caller's own work, unwatched
            except cpu.OutOfCpu as e:  # must never happen
                stray.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert stray == []
    assert refused  # the watchdog did fire meanwhile
    assert {e.code for e in refused} == {"cpu_limit"}
