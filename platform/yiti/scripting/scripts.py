"""Server scripts, run in a pool of limited worker processes.

``ScriptRunner.run`` checks the script, hands it to an idle worker with its inputs (plain
data) and serves the worker's record calls with the caller's :class:`ScriptHost` until the
script finishes. A script past its limits costs its worker (killed and replaced), never
the web process; the caller gets a :class:`ScriptError` and rolls back.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol, runtime_checkable

from yiti.errors import FieldProblem, ValidationError
from yiti.scripting import codec
from yiti.scripting.errors import MAX_FIELD, ScriptError, ScriptProblem, cut
from yiti.scripting.policy import compile_source

_depth: ContextVar[int] = ContextVar("yiti_script_depth", default=0)
# When the run whose record call is being served must end (time.monotonic()): a script
# run by that call (an event) ends by then too.
_until: ContextVar[float | None] = ContextVar("yiti_script_until", default=None)
_MB = codec.MAX_MESSAGE // (1024 * 1024)


@runtime_checkable
class ScriptHost(Protocol):
    """What a script may ask of the app; implemented on the record service with the
    permissions of the script's owner (or the current user). Records are plain mappings
    of JSON-like values (str, int, float, bool, None, Decimal, date, datetime, lists and
    mappings of those). Raise any :class:`yiti.errors.YitiError` to refuse: the script
    stops and the error reaches the caller of :meth:`ScriptRunner.run` unchanged."""

    def get(self, entity: str, name: Any) -> Mapping[str, Any] | None: ...

    def list(
        self, entity: str, filters: Mapping[str, Any], fields: list[str] | None,
        order_by: str | list[str] | None, limit: int,
    ) -> list[Mapping[str, Any]]: ...

    def create(self, entity: str, values: Mapping[str, Any]) -> Mapping[str, Any]: ...

    def update(
        self, entity: str, name: Any, values: Mapping[str, Any], version: int | None
    ) -> Mapping[str, Any]: ...

    def notify(self, user: str, subject: str, body: str) -> None: ...

    def log(self, level: str, message: str) -> None: ...


class NoHost:
    """A host that refuses every record call and drops logs (scripts with no record access)."""

    def _refuse(self, *args: Any) -> Any:
        raise ScriptError("this script has no access to records", code="no_host")

    get = list = create = update = notify = _refuse  # type: ignore[assignment]

    def log(self, level: str, message: str) -> None:
        pass


@dataclass(frozen=True)
class ScriptResult:
    """What a script left behind: ``result``, the ``doc`` it was given (with its changes,
    ``changed`` naming the fields and child tables that differ), and its log lines."""

    value: Any = None
    doc: dict[str, Any] | None = None
    changed: tuple[str, ...] = ()
    logs: tuple[tuple[str, str], ...] = field(default_factory=tuple)


@lru_cache(maxsize=1024)
def _problems(source: str, filename: str, lineno: int, name: str) -> tuple[ScriptProblem, ...]:
    _, problems = compile_source(source, mode="exec", filename=filename, lineno=lineno)
    return tuple(
        ScriptProblem(filename, lineno + p.lineno - 1, p.message, p.code, name) for p in problems
    )


def check_script(
    source: str, *, filename: str = "<script>", lineno: int = 1, name: str = ""
) -> list[ScriptProblem]:
    """Every problem in a server script, for ``yiti check``; empty if it compiles."""
    return list(_problems(source, filename, lineno, name))


class _Worker:
    def __init__(self, ctx: Any, memory_mb: int, timezone: str) -> None:
        from yiti.scripting import worker

        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(
            target=worker.main, args=(child, memory_mb, timezone), daemon=True,
            name="yiti-script-worker",
        )
        self.process.start()
        child.close()
        self.runs = 0

    def wait_ready(self, seconds: float) -> None:
        if not self.conn.poll(seconds):
            self.kill()
            raise ScriptError("a script worker did not start", code="worker")
        if codec.loads(self.conn.recv_bytes(codec.MAX_MESSAGE)).get("op") != "ready":
            self.kill()
            raise ScriptError("a script worker did not start", code="worker")

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()


class _Failed(Exception):
    def __init__(self, error: BaseException, recycle: bool) -> None:
        self.error, self.recycle = error, recycle


class ScriptRunner:
    """A pool of ``pool_size`` script workers with per-run limits.

    ``cpu_seconds`` is the CPU budget of one run, ``memory_mb`` each worker's address space,
    ``wall_seconds`` the real time a run may take besides the host's own calls (default
    ``2 * cpu_seconds + 1``), ``total_seconds`` the real time it may take in all, record
    calls included (default 30 s, or ``wall_seconds`` if longer), and ``max_calls`` how many
    record calls it may make. Scripts that trigger scripts (through the host) nest at most
    ``max_depth`` deep, and end when the script that triggered them must. Thread-safe;
    :meth:`close` stops the workers.
    """

    def __init__(
        self,
        pool_size: int = 2,
        *,
        cpu_seconds: float = 1.0,
        memory_mb: int = 256,
        wall_seconds: float | None = None,
        total_seconds: float | None = None,
        max_calls: int = 1000,
        max_depth: int = 3,
        timezone: str = "Asia/Shanghai",
        max_runs_per_worker: int = 1000,
        queue_seconds: float = 10.0,
    ) -> None:
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        self._ctx = multiprocessing.get_context(method)
        if method == "forkserver":
            self._ctx.set_forkserver_preload(["yiti.scripting.worker"])
        self.pool_size, self.cpu_seconds, self.memory_mb = pool_size, cpu_seconds, memory_mb
        self.wall_seconds = wall_seconds if wall_seconds is not None else 2 * cpu_seconds + 1
        self.total_seconds = (
            total_seconds if total_seconds is not None else max(30.0, self.wall_seconds)
        )
        self.max_calls = max_calls
        self.max_depth, self.timezone = max_depth, timezone
        self.max_runs_per_worker, self.queue_seconds = max_runs_per_worker, queue_seconds
        self._idle: list[_Worker] = []
        self._count = 0
        self._cond = threading.Condition()
        self._closed = False
        self.workers_started = 0

    # -- the pool --------------------------------------------------------------------------
    def _acquire(self, nested: bool) -> _Worker:
        deadline = time.monotonic() + self.queue_seconds
        with self._cond:
            while True:
                if self._closed:
                    raise ScriptError("the script runner is closed", code="worker")
                if self._idle:
                    return self._idle.pop()
                if self._count < self.pool_size or nested:
                    self._count += 1
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._cond.wait(remaining):
                    raise ScriptError("all script workers are busy; try again", code="busy")
        try:
            worker = _Worker(self._ctx, self.memory_mb, self.timezone)
            self.workers_started += 1
            worker.wait_ready(30)
            return worker
        except BaseException:
            with self._cond:
                self._count -= 1
                self._cond.notify()
            raise

    def _release(self, worker: _Worker, healthy: bool) -> None:
        worker.runs += 1
        keep = healthy and worker.runs < self.max_runs_per_worker
        with self._cond:
            if keep and not self._closed and len(self._idle) < self.pool_size:
                self._idle.append(worker)
                self._cond.notify()
                return
            self._count -= 1
            self._cond.notify()
        worker.kill()

    def close(self) -> None:
        """Stop every idle worker; busy ones stop when their run ends."""
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._count -= len(idle)
        for worker in idle:
            worker.kill()

    def __enter__(self) -> ScriptRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- runs --------------------------------------------------------------------------------
    def run(
        self,
        source: str,
        *,
        filename: str = "<script>",
        lineno: int = 1,
        name: str = "",
        doc: Mapping[str, Any] | None = None,
        inputs: Mapping[str, Any] | None = None,
        host: ScriptHost | None = None,
        depth: int | None = None,
    ) -> ScriptResult:
        """Run a server script and return what it left behind.

        ``doc`` (values, child tables as lists of mappings) is given to the script as a
        writable record; ``inputs`` are further names (read-only). Record calls go to
        ``host`` with this run's depth + 1 visible to nested runs. Raises
        :class:`ScriptError` (compile problems, limits, runtime errors, with file and
        line), :class:`yiti.errors.ValidationError` for ``throw()``, or whatever the
        host raised.
        """
        level = _depth.get() if depth is None else depth
        where = {"filename": filename, "lineno": lineno, "name": name}
        if level > self.max_depth:
            raise ScriptError(
                f"scripts triggered scripts more than {self.max_depth} levels deep",
                code="depth_limit", **where,
            )
        problems = _problems(source, filename, lineno, name)
        if problems:
            p = problems[0]
            raise ScriptError(p.message, code=p.code, filename=filename, lineno=p.lineno, name=name)
        for key in inputs or {}:
            if not isinstance(key, str) or not key.isidentifier() or key.startswith("_") or key == "doc":
                raise ValueError(f"{key!r} can't be an input name")
        message = codec.dumps({
            "op": "run", "source": source, "filename": filename, "lineno": lineno,
            "cpu_seconds": self.cpu_seconds, "max_calls": self.max_calls,
            "doc": codec.encode(doc) if doc is not None else None,
            "inputs": codec.encode(dict(inputs or {})),
        })
        if len(message) > codec.MAX_MESSAGE:
            raise ScriptError(
                f"the script's doc and inputs are larger than {_MB} MB", code="size_limit", **where
            )
        host = host if host is not None else NoHost()
        worker = self._acquire(nested=level > 0)
        healthy = False
        try:
            worker.conn.send_bytes(message)
            reply = self._serve(worker, host, level, where)
            healthy = not reply.get("recycle")
        except _Failed as failed:
            healthy = not failed.recycle
            raise failed.error from None
        finally:
            self._release(worker, healthy)
        for level_name, text in reply.get("logs") or ():
            host.log(level_name, text)
        if reply["op"] == "fail":
            line = reply.get("lineno") or lineno
            # The worker cuts them already; a worker that didn't (a bug, or an escape) is
            # not trusted with the size of what users see.
            message = cut(str(reply["message"]))
            if reply["code"] == "validation":
                field_ = cut(str(reply.get("field") or ""), MAX_FIELD)
                raise ValidationError([FieldProblem(field_, message, "script")])
            raise ScriptError(message, code=reply["code"], filename=filename, lineno=line, name=name)
        return ScriptResult(
            value=reply.get("result"), doc=reply.get("doc"), changed=tuple(reply.get("changed") or ()),
            logs=tuple((a, b) for a, b in reply.get("logs") or ()),
        )

    def _serve(
        self, worker: _Worker, host: ScriptHost, level: int, where: dict[str, Any]
    ) -> dict[str, Any]:
        """Answer the worker's record calls until the script ends or runs out of time.

        ``deadline`` (``wall_seconds``) moves on by each call's time; ``until``
        (``total_seconds``, or the end of the run whose record call started this one)
        does not.
        """
        now = time.monotonic()
        deadline, until, outer = now + self.wall_seconds, now + self.total_seconds, _until.get()
        if outer is not None and outer < until:
            until = outer
        host_error: BaseException | None = None
        calls = 0
        while True:
            remaining = min(deadline, until) - time.monotonic()
            try:
                ready = remaining > 0 and worker.conn.poll(remaining)
                if not ready:  # the worker is killed; a host's refusal still says why
                    error = host_error or self._timeout(deadline, until, outer, where)
                    raise _Failed(error, recycle=True)
                raw = worker.conn.recv_bytes(codec.MAX_MESSAGE)
                msg = codec.loads(raw)
            except EOFError:
                raise _Failed(self._died(worker, where), recycle=True) from None
            except (OSError, ValueError) as e:  # the worker is alive but sent too much, or garbage
                raise _Failed(self._garbled(e, where), recycle=True) from None
            op = msg.get("op")
            if op == "call":
                calls += 1
                if calls > self.max_calls:  # the worker refuses first; this is in case it doesn't
                    raise _Failed(self._too_many_calls(where), recycle=True)
                if host_error is not None:
                    worker.conn.send_bytes(codec.dumps({"op": "abort"}))
                    continue
                if msg.get("method") in codec.WRITES and len(raw) > codec.MAX_RECORD_VALUES:
                    # the worker refuses first; this is in case it doesn't
                    worker.conn.send_bytes(codec.dumps({
                        "op": "refuse", "code": "size_limit",
                        "message": f"the values given to {codec.CALLS[msg['method']]}() "
                                   f"are larger than {codec.MAX_RECORD_VALUES // 1024:,} KB"}))
                    continue
                started = time.monotonic()
                try:
                    value = self._call_host(host, msg, level, until)
                    answer = codec.dumps({"op": "reply", "value": codec.encode(value)})
                except Exception as e:  # the host refused: stop the script, re-raise this
                    host_error = e
                    answer = codec.dumps({"op": "abort"})
                if len(answer) > codec.MAX_MESSAGE:
                    answer = codec.dumps({
                        "op": "refuse", "code": "size_limit",
                        "message": f"the answer to {codec.CALLS[msg['method']]}() is larger "
                                   f"than {_MB} MB",
                    })
                worker.conn.send_bytes(answer)
                now = time.monotonic()
                deadline += now - started
                if now > until and host_error is None:
                    raise _Failed(self._timeout(deadline, until, outer, where), recycle=True)
            elif op in ("done", "fail", "aborted"):
                if host_error is not None:
                    raise _Failed(host_error, recycle=bool(msg.get("recycle")))
                if op == "aborted":
                    raise _Failed(ScriptError("the script was stopped", code="worker", **where), False)
                return msg

    def _timeout(
        self, deadline: float, until: float, outer: float | None, where: dict[str, Any]
    ) -> ScriptError:
        if deadline < until:
            message = f"the script took longer than {self.wall_seconds:g} s and was stopped"
        elif until == outer:
            message = "the script that triggered this one ran out of time, so this one was stopped"
        else:
            message = (
                f"the script took longer than {self.total_seconds:g} s in all (record calls "
                "included) and was stopped"
            )
        return ScriptError(message, code="timeout", **where)

    def _too_many_calls(self, where: dict[str, Any]) -> ScriptError:
        return ScriptError(
            f"the script made more than {self.max_calls:,} record calls", code="call_limit",
            **where,
        )

    def _call_host(self, host: ScriptHost, msg: dict[str, Any], level: int, until: float) -> Any:
        method, args = msg.get("method"), msg.get("args") or []
        if method not in codec.CALLS:
            raise ScriptError(f"unknown record call {method!r}", code="worker")
        depth, end = _depth.set(level + 1), _until.set(until)
        try:
            return getattr(host, method)(*args)
        finally:
            _until.reset(end)
            _depth.reset(depth)

    def _died(self, worker: _Worker, where: dict[str, Any]) -> ScriptError:
        worker.process.join(2)  # its end of the pipe closed: it has exited, or is exiting
        code = worker.process.exitcode
        if code is not None and code < 0 and -code == signal.SIGXCPU:  # past RLIMIT_CPU
            return ScriptError("the script used more than its CPU time", code="cpu_limit", **where)
        return ScriptError(
            f"the script's worker stopped unexpectedly (exit code {code})", code="worker", **where
        )

    def _garbled(self, error: Exception, where: dict[str, Any]) -> ScriptError:
        # Not worth waiting for: the worker is killed and replaced once the run is over.
        if str(error) == "bad message length":
            return ScriptError(f"the script sent more than {_MB} MB", code="size_limit", **where)
        return ScriptError(f"the script's worker sent an unreadable message ({error})",
                           code="worker", **where)


_default: ScriptRunner | None = None
_default_lock = threading.Lock()


def default_runner() -> ScriptRunner:
    """The process-wide runner, created on first use (sized by ``YITI_SCRIPT_WORKERS``)."""
    global _default
    with _default_lock:
        if _default is None or _default._closed:
            _default = ScriptRunner(pool_size=int(os.environ.get("YITI_SCRIPT_WORKERS", "2")))
        return _default
