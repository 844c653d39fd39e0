"""The CPU time one formula evaluation may use.

Formulas have no loops, and each operation is bounded on its own (guards.py), but a formula
of 4,000 characters holds a few hundred operations, each of which may scan a value the
record holds: ``(max(l), max(l), ...)`` over a JSON list of 100,000 numbers used 0.66 s
of the web process's CPU, on every save. So each evaluation has a CPU budget
(:data:`DEFAULT_SECONDS`, ``YITI_FORMULA_CPU_SECONDS``, or :func:`set_cpu_limit`).

Reading the thread's CPU clock costs about a microsecond (a system call), a fifth of a
typical evaluation, so the evaluating thread never reads it. It only marks its
:class:`Clock` running, with a new generation number (a few attribute stores); a watchdog
thread wakes every :func:`tick`, reads the CPU clock of each thread that is running an
evaluation (``pthread_getcpuclockid``), and when one evaluation has used more than the
limit since the watchdog first saw it, raises :class:`OutOfCpu` in that thread
(``PyThreadState_SetAsyncExc``). Python delivers it at the thread's next call or
function entry: a formula's calls (builtins, guards) are such points, and the policy
wraps each comparison in a call too (``_compared_``), as ``x in l`` scans a list in one
step. So an evaluation ends within the limit plus about two ticks of CPU.

The exception must never land outside an evaluation. The watchdog fires only while the
clock is running and has the generation it measured, and only if the thread's stack is
inside ``Expression.evaluate``; the evaluation marks its clock stopped first thing after
``eval`` (one attribute store), then, if the watchdog is busy with it or has fired, waits
for it and cancels an exception not delivered yet (:meth:`Clock.stopped`).

Where none of this is available (no ``ctypes.pythonapi``, no per-thread CPU clocks),
formulas run without a CPU limit, as before; :func:`enforced` says which.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import weakref
from collections.abc import Callable
from types import CodeType, FrameType

#: Seconds of CPU one formula evaluation may use, unless ``YITI_FORMULA_CPU_SECONDS`` or
#: :func:`set_cpu_limit` says otherwise. A typical formula takes 5-20 µs; one summing
#: 10,000 lines about 2 ms.
DEFAULT_SECONDS = 0.1

try:
    import ctypes

    _set_async_exc_c = ctypes.pythonapi.PyThreadState_SetAsyncExc
    _set_async_exc_c.argtypes = (ctypes.c_ulong, ctypes.c_void_p)

    def _set_async_exc(tid: int, exc: type[BaseException] | None) -> None:
        """Raise ``exc`` in thread ``tid`` at its next check; None cancels one pending."""
        _set_async_exc_c(tid, None if exc is None else id(exc))  # None is NULL

    _cpu_clock: Callable[[int], int] | None = time.pthread_getcpuclockid
except (ImportError, AttributeError):  # not CPython, or no per-thread CPU clocks
    _set_async_exc = None  # type: ignore[assignment]
    _cpu_clock = None


class OutOfCpu(BaseException):
    """Raised inside an evaluation that used up its CPU time. A BaseException, so that
    no guard's ``except Exception`` takes it for the analyst's error."""


class Clock:
    """One thread's evaluation, as the watchdog sees it. ``running`` and ``generation``
    are written by its thread; ``busy`` and ``fired`` by the watchdog."""

    __slots__ = ("__weakref__", "tid", "running", "generation", "busy", "fired")

    def __init__(self) -> None:
        self.tid = threading.get_ident()
        self.running = False
        self.generation = 0
        self.busy = False  # the watchdog is deciding whether to fire
        self.fired = False

    def stopped(self) -> None:
        """After the evaluation's ``self.running = False``, when ``busy`` or ``fired``:
        wait for a watchdog deciding at this very moment, and turn an exception it raised
        but Python has not delivered yet into :class:`OutOfCpu` here (or it would surface
        in the caller's code)."""
        try:
            while self.busy:
                time.sleep(0)
        finally:  # even if the exception arrives meanwhile: the next evaluation starts clean
            fired, self.fired = self.fired, False
        if fired:
            _set_async_exc(self.tid, None)  # cancel one still pending
            raise OutOfCpu


class _Watchdog:
    def __init__(self) -> None:
        self.limit = _from_env()
        self.clocks: weakref.WeakSet[Clock] = weakref.WeakSet()
        self.thread: threading.Thread | None = None
        self.guarded: CodeType | None = None  # Expression.evaluate's code
        self.lock = threading.Lock()

    def register(self, clock: Clock) -> None:
        with self.lock:
            self.clocks.add(clock)
            if self.thread is None and enforced():
                self.thread = threading.Thread(target=self._run, name="yiti-formula-cpu",
                                               daemon=True)
                self.thread.start()

    def _run(self) -> None:
        seen: dict[int, tuple[int, float]] = {}  # id(clock) -> (generation, CPU at sight)
        while True:
            time.sleep(tick())
            for clock in list(self.clocks):
                generation = clock.generation
                if not clock.running:
                    seen.pop(id(clock), None)
                    continue
                try:
                    used = time.clock_gettime(_cpu_clock(clock.tid))  # type: ignore[misc]
                except OSError:  # the thread has ended
                    continue
                first = seen.get(id(clock))
                if first is None or first[0] != generation:
                    seen[id(clock)] = (generation, used)
                elif used - first[1] > self.limit:
                    self._fire(clock, generation)
                    seen.pop(id(clock), None)

    def _fire(self, clock: Clock, generation: int) -> None:
        # ``busy`` is set before ``running`` is read, and the thread reads ``busy`` after
        # clearing ``running`` (the GIL orders both): so either this sees the evaluation
        # stopped, or the thread sees this busy and waits for it.
        clock.busy = True
        try:
            if (clock.running and clock.generation == generation and not clock.fired
                    and _inside(sys._current_frames().get(clock.tid), self.guarded)):
                clock.fired = True
                _set_async_exc(clock.tid, OutOfCpu)
        finally:
            clock.busy = False


def _inside(frame: FrameType | None, code: CodeType | None) -> bool:
    while frame is not None:
        if frame.f_code is code:
            return True
        frame = frame.f_back
    return False


def _from_env() -> float:
    text = os.environ.get("YITI_FORMULA_CPU_SECONDS", "")
    try:
        return float(text) if text else DEFAULT_SECONDS
    except ValueError:
        raise ValueError(f"YITI_FORMULA_CPU_SECONDS={text!r} is not a number of seconds "
                         f"(the default is {DEFAULT_SECONDS})") from None


_watchdog = _Watchdog()


def enforced() -> bool:
    """Whether formulas' CPU time is limited on this interpreter (CPython with per-thread
    CPU clocks, such as Linux)."""
    return _set_async_exc is not None and _cpu_clock is not None


def cpu_limit() -> float:
    """Seconds of CPU one formula evaluation may use."""
    return _watchdog.limit


def set_cpu_limit(seconds: float) -> None:
    """Let each formula evaluation use ``seconds`` of CPU (the process's setting)."""
    if not seconds > 0:
        raise ValueError(f"a formula's CPU limit must be more than 0 seconds, not {seconds!r}")
    _watchdog.limit = float(seconds)


def tick() -> float:
    """How often the watchdog looks: a quarter of the limit, within 5-50 ms."""
    return min(max(_watchdog.limit / 4, 0.005), 0.05)


def new_clock(guarded: CodeType) -> Clock:
    """A clock for the calling thread, watched from now on; ``guarded`` is the code of
    the function evaluations run in (the watchdog fires only inside it)."""
    _watchdog.guarded = guarded
    clock = Clock()
    _watchdog.register(clock)
    return clock


def out_of_cpu_message() -> str:
    return (f"the formula used more than its {cpu_limit():g} s of CPU time; it does too "
            "much work for one value (scanning large lists or texts again and again): "
            "compute it in fewer steps")


def _after_fork() -> None:
    # The watchdog thread does not survive a fork; a thread of the parent that evaluated
    # before it forked keeps its clock and needs a watchdog in the child too.
    _watchdog.lock = threading.Lock()
    _watchdog.thread = None
    me = threading.get_ident()
    for clock in list(_watchdog.clocks):
        if clock.tid != me:
            _watchdog.clocks.discard(clock)
        else:
            clock.running = clock.busy = clock.fired = False
            _watchdog.register(clock)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


__all__ = ["DEFAULT_SECONDS", "Clock", "OutOfCpu", "cpu_limit", "enforced", "new_clock",
           "set_cpu_limit", "tick"]
