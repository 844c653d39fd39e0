"""The values one create_record()/update_record() call of a script may write: 1 MB as
sent (codec.MAX_RECORD_VALUES), where a call could carry 16 MB (the size of any message),
a thousand calls a run. The worker refuses at the script's line; the app refuses too, for
a worker that would not."""

from __future__ import annotations

from pathlib import Path

import pytest

from yiti.scripting import ScriptError, codec


def test_the_limit_is_the_documented_one() -> None:
    assert codec.MAX_RECORD_VALUES == 1024 * 1024
    docs = (Path(__file__).parents[2] / "docs" / "scripting.md").read_text()
    assert "1 MB per `create_record()` or `update_record()` call" in docs


@pytest.mark.parametrize("call", [
    "create_record('task', {'note': big})",
    "update_record('task', 'T-1', {'note': big})",
])
def test_values_over_1_mb_are_refused_at_their_line(runner, host, call: str) -> None:  # noqa: ANN001
    source = f"big = ['a' * 600000, 'b' * 600000]\nx = 1\n{call}"
    with pytest.raises(ScriptError) as e:
        runner.run(source, host=host)
    assert (e.value.code, e.value.lineno) == ("size_limit", 3)
    assert "would be larger than 1,024 KB" in e.value.message
    assert call.split("(")[0] + "()" in e.value.message
    assert not host.calls


def test_values_within_the_limit_are_written(runner, host) -> None:  # noqa: ANN001
    runner.run("create_record('task', {'note': 'a' * 1000000})", host=host)
    assert [c[:2] for c in host.calls] == [("create", "task")]
    assert len(host.calls[0][2]["note"]) == 1_000_000


def test_the_app_refuses_too(runner, host, monkeypatch) -> None:  # noqa: ANN001
    # The worker (a fresh interpreter) still allows 1 MB; the app, here 2 KB, refuses what
    # it sends beyond that, and the script stops at the call's line.
    monkeypatch.setattr(codec, "MAX_RECORD_VALUES", 2048)
    source = "x = 1\ncreate_record('task', {'note': 'a' * 5000})"
    with pytest.raises(ScriptError) as e:
        runner.run(source, host=host)
    assert (e.value.code, e.value.lineno) == ("size_limit", 2)
    assert "the values given to create_record() are larger than 2 KB" in e.value.message
    assert not host.calls
    assert runner.run("result = 1 + 1", host=host).value == 2  # the worker still serves
