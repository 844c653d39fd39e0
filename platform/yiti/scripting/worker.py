"""The worker process a server script runs in (started by ``scripts.ScriptRunner``).

It starts from a fresh interpreter (``forkserver``/``spawn``), empties its environment,
limits its own address space (``RLIMIT_AS``) and, per run, its CPU time twice over: an
``ITIMER_PROF`` timer stops the script with a clear message, and ``RLIMIT_CPU`` kills the
process if a single C-level step keeps the timer from firing. The parent also kills it on
a wall-clock deadline. Everything it exchanges with the parent is JSON (``codec.py``), each
message checked against the parent's 16 MB before it is sent; record calls are counted
(``call_limit``) here, with the line of the call, and again by the parent.
"""

from __future__ import annotations

import decimal
import os
import resource
import signal
import sys
from collections.abc import Callable, Iterable
from multiprocessing.connection import Connection
from types import CodeType, FrameType
from typing import Any

from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence

from yiti.scripting import codec
from yiti.scripting.access import (
    LoopCounter,
    guarded_getitem,
    guarded_write,
    make_getattr,
    make_hasattr,
)
from yiti.scripting.errors import MAX_FIELD, LimitExceeded, SandboxViolation, cut
from yiti.scripting.expressions import SANDBOX_CONTEXT, _describe, _line_of
from yiti.scripting.guards import (
    SCRIPT_LIMITS,
    Limits,
    make_binop,
    make_fstring,
    make_inplacevar,
    too_big,
)
from yiti.scripting.names import make_builtins, make_render, set_timezone
from yiti.scripting.policy import compile_source
from yiti.scripting.proxies import Doc, freeze, record_proxy

RECURSION_LIMIT = 300
MAX_SUBJECT = 255  # characters of a notification's subject (the column's size)
MAX_BODY = 64_000  # and of its body, as a run's output
MAX_LIST_LIMIT = 1000
MAX_CALLS = 1000  # record calls per run, unless the run says otherwise (ScriptRunner.max_calls)
_MB = codec.MAX_MESSAGE // (1024 * 1024)


class HostAbort(BaseException):
    """The app refused a record call; the script unwinds and the app re-raises its error."""


class Throw(BaseException):
    """``throw(message, field)``: a validation error the script can't swallow."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message, self.field = message, field


class Output:
    """print() and log() of one run, bounded in total size."""

    def __init__(self, limit: int) -> None:
        self.entries: list[list[str]] = []
        self.size, self.limit = 0, limit

    def check(self, size: int) -> None:
        """Refuse before building a line of ``size`` characters that would not fit."""
        if self.size + size > self.limit:
            raise LimitExceeded(
                f"the script printed or logged more than {self.limit:,} characters",
                "output_limit",
            )

    def add(self, level: str, text: str) -> None:
        self.check(len(text))
        self.size += len(text)
        self.entries.append([level, text])

    def join(self, sep: str, parts: Iterable[str], end: str = "") -> str:
        """``sep.join(parts) + end``, refused as soon as it could not be printed."""
        texts: list[str] = []
        size = len(end)
        for part in parts:
            size += len(part) + (len(sep) if texts else 0)
            self.check(size)
            texts.append(part)
        return sep.join(texts) + end


class _State:
    running = False


def _on_cpu_timer(signum: int, frame: FrameType | None) -> None:
    if _State.running:
        raise LimitExceeded("the script used more than its CPU time", "cpu_limit")


def _encode(value: Any, what: str) -> Any:
    try:
        return codec.encode(value)
    except RecursionError:
        raise ValueError(f"{what} contains itself or is nested too deeply to be sent") from None


def _dumps(message: Any, what: str) -> bytes:
    """``message`` as bytes for the app, refused past what the app will read."""
    try:
        data = codec.dumps(message)
    except MemoryError:
        data = None
    if data is None or len(data) > codec.MAX_MESSAGE:
        raise SandboxViolation(f"{what} would be larger than {_MB} MB", "size_limit")
    return data


def _api(
    conn: Connection, output: Output, render: Callable[[Any], str], max_calls: int
) -> dict[str, Any]:
    """The record service, notifications and logging, as the script sees them."""
    calls = [0]

    def call(method: str, *args: Any) -> Any:
        # Each call costs the app a query (or a notification); the app counts them too.
        calls[0] += 1
        if calls[0] > max_calls:
            raise LimitExceeded(
                f"the script made more than {max_calls:,} record calls; read many records "
                "with one list_records()", "call_limit",
            )
        what = f"the values given to {codec.CALLS[method]}()"
        args_ = _encode(args, what)
        data = _dumps({"op": "call", "method": method, "args": args_}, what)
        if method in codec.WRITES and len(data) > codec.MAX_RECORD_VALUES:
            raise SandboxViolation(
                f"{what} would be larger than {codec.MAX_RECORD_VALUES // 1024:,} KB "
                f"({len(data):,} bytes as sent); write fewer or smaller values a call",
                "size_limit")
        conn.send_bytes(data)
        reply = codec.loads(conn.recv_bytes(codec.MAX_MESSAGE))
        op = reply.get("op")
        if op == "refuse":  # the app won't send this answer (too large), the script goes on
            raise SandboxViolation(str(reply.get("message")), str(reply.get("code")))
        if op != "reply":
            raise HostAbort()
        return reply.get("value")

    def as_record(value: Any) -> Any:
        return record_proxy(value) if isinstance(value, dict) else value

    def text(value: Any, what: str) -> str:
        if type(value) is not str or not value:
            raise TypeError(f"{what} must be non-empty text")
        return value

    def get_record(entity: str, name: Any) -> Any:
        """The record ``name`` of ``entity``, or None if it does not exist (or isn't yours)."""
        return as_record(call("get", text(entity, "entity"), name))

    def list_records(
        entity: str, filters: Any = None, *, fields: Any = None, order_by: Any = None,
        limit: int = 20,
    ) -> tuple[Any, ...]:
        """Records of ``entity`` matching ``filters`` ({"status": "open"}), at most ``limit``."""
        if type(limit) is not int or not 1 <= limit <= MAX_LIST_LIMIT:
            raise ValueError(f"limit must be between 1 and {MAX_LIST_LIMIT}")
        rows = call("list", text(entity, "entity"), filters or {}, fields, order_by, limit)
        return tuple(as_record(r) for r in rows or ())

    def create_record(entity: str, values: Any) -> Any:
        """Create a record of ``entity`` (with your permissions); returns it."""
        return as_record(call("create", text(entity, "entity"), values))

    def update_record(entity: str, name: Any, values: Any, version: Any = None) -> Any:
        """Change fields of a record; ``version`` guards against overwriting others' edits."""
        return as_record(call("update", text(entity, "entity"), name, values, version))

    def notify(user: str, subject: str, body: str = "") -> None:
        """Send ``user`` a notification."""
        # Each call stores its text (and may mail it): a thousand calls of a megabyte
        # each would be a gigabyte a run.
        subject, body = text(subject, "subject"), render(body)
        if len(subject) > MAX_SUBJECT:
            raise too_big("the subject given to notify()", f"at most {MAX_SUBJECT} characters")
        if len(body) > MAX_BODY:
            raise too_big("the body given to notify()", f"at most {MAX_BODY:,} characters")
        call("notify", text(user, "user"), subject, body)

    def log(*parts: Any, level: str = "info") -> None:
        """Write to the script's log (``level``: debug, info, warning, error)."""
        if level not in ("debug", "info", "warning", "error"):
            raise ValueError("level must be debug, info, warning or error")
        output.add(level, output.join(" ", (render(p) for p in parts)))

    def throw(message: str, field: str = "") -> None:
        """Refuse the save: ``throw("Credit limit exceeded", "customer")``."""
        # Shown next to the field and logged: cut, saying so, not refused (the save is
        # refused either way, and the analyst's message stays the reason).
        raise Throw(cut(render(message)), cut(render(field), MAX_FIELD))

    return {
        "get_record": get_record, "list_records": list_records, "create_record": create_record,
        "update_record": update_record, "notify": notify, "log": log, "throw": throw,
    }


def _globals(conn: Connection, limits: Limits, output: Output, max_calls: int) -> dict[str, Any]:
    counter = LoopCounter(limits.max_loops)
    builtins = make_builtins(limits, script=True)
    getattr_ = make_getattr(limits)
    binop = make_binop(limits)
    render = builtins["str"]
    builtins.update(getattr=getattr_, hasattr=make_hasattr(getattr_))
    builtins.update(_api(conn, output, render, max_calls))

    class Printer:
        def __init__(self, _getattr_: Any = None) -> None:
            self.parts: list[str] = []

        def _call_print(self, *objects: Any, sep: str = " ", end: str = "\n") -> None:
            text = output.join(render(sep), (render(o) for o in objects), render(end))
            output.add("print", text.rstrip("\n"))
            self.parts.append(text)

        def __call__(self) -> str:
            return "".join(self.parts)

    return {
        "__builtins__": builtins, "__name__": "script",
        "_getattr_": getattr_, "_getitem_": guarded_getitem, "_write_": guarded_write,
        "_getiter_": counter.getiter, "_loop_": counter.loop, "_binop_": binop,
        "_inplacevar_": make_inplacevar(binop), "_str_": render, "_repr_": builtins["repr"],
        "_ascii_": make_render(ascii, limits), "_fstring_": make_fstring(limits),
        "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
        "_unpack_sequence_": guarded_unpack_sequence,
        "_apply_": lambda f, *a, **kw: f(*a, **kw), "_print_": Printer,
    }


def _doc(values: dict[str, Any]) -> Doc:
    return Doc({
        k: [_doc(r) if isinstance(r, dict) else r for r in v] if isinstance(v, list) else v
        for k, v in values.items()
    })


_compiled: dict[tuple[str, str, int], CodeType] = {}


def _run(conn: Connection, msg: dict[str, Any]) -> dict[str, Any]:
    filename, lineno = msg["filename"], msg["lineno"]
    key = (msg["source"], filename, lineno)
    code = _compiled.get(key)
    if code is None:
        code, problems = compile_source(msg["source"], mode="exec", filename=filename, lineno=lineno)
        if code is None:
            p = problems[0]
            return {"op": "fail", "code": p.code, "message": p.message,
                    "lineno": lineno + p.lineno - 1, "logs": []}
        if len(_compiled) > 256:
            _compiled.clear()
        _compiled[key] = code
    output = Output(SCRIPT_LIMITS.max_output)
    scope = _globals(conn, SCRIPT_LIMITS, output, int(msg.get("max_calls") or MAX_CALLS))
    for name, value in (msg.get("inputs") or {}).items():
        scope[name] = freeze(value) if name != "result" else value
    doc = _doc(msg["doc"]) if msg.get("doc") is not None else None
    if doc is not None:
        scope["doc"] = doc
    before = codec.encode(doc) if doc is not None else None
    cpu = float(msg["cpu_seconds"])
    used = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = int(used + cpu) + 2
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
    _State.running = True
    signal.setitimer(signal.ITIMER_PROF, cpu)
    try:
        exec(code, scope)
    except Throw as e:
        return {"op": "fail", "code": "validation", "message": e.message, "field": e.field,
                "lineno": _line_of(e.__traceback__, filename, lineno), "logs": output.entries}
    except HostAbort:
        return {"op": "aborted", "logs": output.entries}
    except RecursionError as e:
        return _failure("recursion_limit", "the script recursed too deeply", e, msg, output)
    except MemoryError as e:
        return _failure("memory_limit", "the script ran out of memory", e, msg, output, True)
    except LimitExceeded as e:
        return _failure(e.code, str(e), e, msg, output)
    except SandboxViolation as e:
        return _failure(e.code, str(e), e, msg, output)
    except Exception as e:
        return _failure("runtime", _describe(e), e, msg, output)
    finally:
        _State.running = False
        signal.setitimer(signal.ITIMER_PROF, 0)
    try:
        after = _encode(doc, "doc") if doc is not None else None
        result = _encode(scope.get("result"), "the result")
    except (TypeError, ValueError) as e:
        return {"op": "fail", "code": "runtime", "message": str(e), "lineno": lineno,
                "logs": output.entries}
    except MemoryError:
        return {"op": "fail", "code": "memory_limit", "recycle": True, "lineno": lineno,
                "message": "the script ran out of memory sending its result", "logs": []}
    changed = sorted(k for k in (after or {}) if (before or {}).get(k) != after.get(k))
    return {"op": "done", "result": result, "doc": after, "changed": changed,
            "logs": output.entries}


def _failure(
    code: str, message: str, e: BaseException, msg: dict[str, Any], output: Output,
    recycle: bool = False,
) -> dict[str, Any]:
    return {"op": "fail", "code": code, "message": message, "recycle": recycle,
            "lineno": _line_of(e.__traceback__, msg["filename"], msg["lineno"]),
            "logs": output.entries}


def main(conn: Connection, memory_mb: int, timezone: str) -> None:
    """Serve runs from ``conn`` until it closes."""
    os.environ.clear()
    set_timezone(timezone)
    decimal.setcontext(SANDBOX_CONTEXT.copy())
    sys.setrecursionlimit(RECURSION_LIMIT)
    signal.signal(signal.SIGPROF, _on_cpu_timer)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    conn.send_bytes(codec.dumps({"op": "ready"}))
    while True:
        try:
            msg = codec.loads(conn.recv_bytes(codec.MAX_MESSAGE))
        except (EOFError, OSError):
            return
        if msg.get("op") != "run":
            continue
        try:
            reply = _run(conn, msg)
        except (EOFError, OSError):
            return
        except BaseException as e:  # noqa: BLE001 - report anything, then start afresh
            reply = {"op": "fail", "code": "worker", "message": f"{type(e).__name__}: {e}",
                     "lineno": msg.get("lineno", 1), "logs": [], "recycle": True}
        try:
            conn.send_bytes(_reply_bytes(reply, msg))
        except (EOFError, OSError):
            return


def _reply_bytes(reply: dict[str, Any], msg: dict[str, Any]) -> bytes:
    """The run's reply as bytes, or a failure saying why it can't be sent."""
    code, message = "runtime", "the script's result can't be sent"
    try:
        return _dumps(reply, "the script's result, doc and log")
    except SandboxViolation as e:
        code, message = e.code, str(e)
    except (TypeError, ValueError, RecursionError):
        pass
    return codec.dumps({"op": "fail", "code": code, "message": message,
                        "lineno": msg.get("lineno", 1), "logs": [], "recycle": False})
