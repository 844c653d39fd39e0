"""Server scripts: the API through a fake host, limits, errors and worker recovery."""

from __future__ import annotations

from decimal import Decimal

import pytest

from yiti.errors import Forbidden, ValidationError
from yiti.scripting import ScriptError, ScriptRunner, check_script

D = Decimal


def test_before_save_script_changes_doc(runner, host) -> None:
    source = (
        "for line in doc.lines:\n"
        "    line.amount = round_money(line.qty * line.price)\n"
        "doc.total = sum_of(doc.lines, 'amount')\n"
    )
    doc = {"total": None, "lines": [{"qty": D("3"), "price": D("0.335")}, {"qty": D(1), "price": D(2)}]}
    result = runner.run(source, doc=doc, host=host)
    assert result.doc["total"] == D("3.01")
    assert [line["amount"] for line in result.doc["lines"]] == [D("1.01"), D("2.00")]
    assert result.changed == ("lines", "total")
    assert doc["total"] is None  # the caller's data is untouched


def test_script_api_calls_go_through_the_host(runner, host) -> None:
    source = (
        "c = get_record('customer', doc.customer)\n"
        "if c is None:\n"
        "    throw('Unknown customer', 'customer')\n"
        "gold = list_records('customer', {'tier': 'gold'}, limit=5)\n"
        "t = create_record('task', {'subject': 'Call ' + c.name})\n"
        "update_record('customer', c.name, {'tier': 'platinum'}, 3)\n"
        "notify('alice', 'New task', t.name)\n"
        "log('credit', c.credit_limit, level='warning')\n"
        "print('done')\n"
        "result = {'task': t.name, 'gold': len(gold), 'limit': c.credit_limit}\n"
    )
    result = runner.run(source, doc={"customer": "C-1"}, host=host)
    assert result.value == {"task": "task-2", "gold": 1, "limit": D("500")}
    assert [c[0] for c in host.calls] == ["get", "list", "create", "update", "notify"]
    assert host.calls[3] == ("update", "customer", "C-1", {"tier": "platinum"}, 3)
    assert host.logs == [("warning", "credit 500"), ("print", "done")]


def test_throw_becomes_a_validation_error_naming_the_field(runner, host) -> None:
    source = "if doc.qty > 10:\n    throw('At most 10 per order', 'qty')"
    with pytest.raises(ValidationError) as e:
        runner.run(source, doc={"qty": 11}, host=host)
    assert e.value.problems[0].field == "qty"
    assert e.value.problems[0].message == "At most 10 per order"


def test_throw_cannot_be_swallowed(runner) -> None:
    source = "try:\n    throw('no')\nexcept Exception:\n    result = 'swallowed'"
    with pytest.raises(ValidationError):
        runner.run(source)


def test_host_errors_stop_the_script_and_reach_the_caller(runner, host) -> None:
    source = "try:\n    create_record('secret', {})\nexcept Exception:\n    pass\nresult = 1"
    with pytest.raises(Forbidden):
        runner.run(source, host=host)
    assert runner.run("result = 2", host=host).value == 2


def test_without_a_host_records_are_refused(runner) -> None:
    with pytest.raises(ScriptError) as e:
        runner.run("get_record('customer', 'C-1')")
    assert e.value.code == "no_host"


def test_compile_errors_name_file_and_line() -> None:
    source = "x = 1\ny = (\n"
    problems = check_script(source, filename="hooks/so.yaml", lineno=20, name="before_save")
    assert problems and problems[0].filename == "hooks/so.yaml"
    assert problems[0].lineno in (21, 22) and problems[0].code == "syntax"
    problems = check_script("x = 1\nimport os\n", filename="f.yaml", lineno=5)
    assert [(p.lineno, p.code) for p in problems] == [(6, "forbidden")]
    assert check_script("result = sum(i for i in range(3))") == []


def test_runtime_error_names_file_and_line(runner) -> None:
    with pytest.raises(ScriptError) as e:
        runner.run("a = 1\nb = {}\nc = b['missing']", filename="so.yaml", lineno=30, name="s")
    assert (e.value.filename, e.value.lineno, e.value.code) == ("so.yaml", 32, "runtime")
    assert "KeyError" in e.value.message and e.value.name == "s"


def test_infinite_loop_is_stopped(runner) -> None:
    with pytest.raises(ScriptError) as e:
        runner.run("while True:\n    pass", filename="loop.yaml", lineno=3)
    assert e.value.code == "loop_limit" and e.value.lineno == 3
    assert runner.run("result = 'fine'").value == "fine"


def test_cpu_limit() -> None:
    # wall time to spare: on a busy machine half a second of CPU can take longer than
    # the other tests' 2 s of wall time, which would stop it first
    source = "for i in range(500000):\n    s = sorted(range(1000))"
    with ScriptRunner(pool_size=1, cpu_seconds=0.5, wall_seconds=30.0, memory_mb=256) as runner:
        with pytest.raises(ScriptError) as e:
            runner.run(source)
        assert e.value.code == "cpu_limit"
        assert runner.run("result = 'fine'").value == "fine"


def test_deep_recursion(runner) -> None:
    with pytest.raises(ScriptError) as e:
        runner.run("def f(n):\n    return f(n + 1)\nf(0)")
    assert e.value.code == "recursion_limit"


def test_memory_limit() -> None:
    # CPU to spare: filling 256 MB costs page faults, which count as CPU time and, on a
    # busy machine, took more than the other tests' half second
    source = "x = []\nwhile True:\n    x.append('x' * 999000 + str(len(x)))"
    with ScriptRunner(pool_size=1, cpu_seconds=5.0, wall_seconds=11.0, memory_mb=256) as runner:
        with pytest.raises(ScriptError) as e:
            runner.run(source)
        assert e.value.code == "memory_limit"
        assert runner.run("result = 'fine'").value == "fine"


def test_output_is_bounded(runner) -> None:
    with pytest.raises(ScriptError) as e:
        runner.run("for i in range(10000):\n    log('x' * 100)")
    assert e.value.code == "output_limit"


def test_wall_clock_kill_replaces_the_worker() -> None:
    with ScriptRunner(pool_size=1, cpu_seconds=5, wall_seconds=0.3) as runner:
        assert runner.run("result = 1").value == 1
        started = runner.workers_started
        with pytest.raises(ScriptError) as e:
            runner.run("for i in range(900000):\n    s = sorted(range(1000))")
        assert e.value.code == "timeout"
        assert runner.run("result = 2").value == 2
        assert runner.workers_started == started + 1


def test_script_triggering_itself_is_bounded(runner, host) -> None:
    source = "create_record('task', {'subject': 'again'})"

    def on_create(entity, values):  # an after_insert event that runs the same script
        runner.run(source, host=host)

    host.on_create = on_create
    with pytest.raises(ScriptError) as e:
        runner.run(source, host=host)
    assert e.value.code == "depth_limit"
    assert len([c for c in host.calls if c[0] == "create"]) == runner.max_depth + 1
    host.on_create = None
    assert runner.run("result = 3").value == 3


def test_explicit_depth_is_refused(runner) -> None:
    with pytest.raises(ScriptError) as e:
        runner.run("result = 1", depth=runner.max_depth + 1)
    assert e.value.code == "depth_limit"


def test_inputs_are_fresh_per_run(runner) -> None:
    source = "rows = list(items)\nrows.append(4)\nresult = rows"
    assert runner.run(source, inputs={"items": [1, 2, 3]}).value == [1, 2, 3, 4]
    assert runner.run(source, inputs={"items": [1]}).value == [1, 4]


def test_decimal_stays_decimal_across_the_pipe(runner) -> None:
    result = runner.run("result = price * qty", inputs={"price": D("0.1"), "qty": 3})
    assert result.value == D("0.3")
