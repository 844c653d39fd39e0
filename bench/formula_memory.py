"""Peak memory and time of formulas that try to exhaust the web process's memory.

Run: ``PYTHONPATH=platform .venv/bin/python bench/formula_memory.py [name ...]``. Each
formula runs in a fresh interpreter (so one can't inherit another's high-water mark); the
script prints how far the process's peak resident size (``ru_maxrss``) rose while it ran,
how long it took, and how it ended. A formula may be at most 4,000 characters, so most
attacks repeat one part as often as fits. Every formula sees ``m``, a map of 50,000 keys
(what a json field may hold).
"""

from __future__ import annotations

import json
import subprocess
import sys

MAX_SOURCE = 4_000


def repeated(part: str, *, start: str = "(", end: str = ")") -> str:
    """``(part, part, ...)`` as long as a formula may be."""
    n = (MAX_SOURCE - len(start) - len(end)) // (len(part) + 1)
    return start + ",".join([part] * n) + end


ATTACKS: dict[str, str] = {
    "list repeated": repeated("[0]*49999"),
    "list(range())": repeated("list(range(99999))"),
    "list of wide chars": repeated("list('\u4e2d'*99999)"),
    "wide text repeated": repeated("chr(1114111)*99999"),
    "text joined by +": repeated("'x'*50000+'y'*49999"),
    "split()": repeated("('ab '*33333).split()"),
    "slices": repeated("('\u4e2d'*99999)[::-1]"),
    "set(range())": repeated("set(range(99999))"),
    "sorted(range())": repeated("sorted(range(99999))"),
    "sorted(key=str)": repeated("sorted(range(99999),key=str)"),
    "str() of a list": repeated("str(list(range(9000)))"),
    "repr() of text": repeated("repr('\u4e2d'*99990)"),
    "f-strings": repeated("f'{chr(1114111)*99999}'"),
    "join()": repeated("'\u4e2d'.join('x'*50000)"),
    "ljust()": repeated("'x'.ljust(99999,'\u4e2d')"),
    "replace()": repeated("('x'*9999).replace('x','\u4e2d'*10)"),
    "upper()": repeated("('a'*99999).upper()"),
    "values_of()": repeated("values_of(tuple(range(99999)),None)"),
    "tuple(range())": repeated("tuple(range(99999))"),
    "dict items": repeated("list(dict(((1,2),)*9).items())*9999"),
    "set union": repeated("set(range(99999)).union(range(99999))"),
    "list copy": repeated("([0]*49999).copy()"),
    "dict(m) copies": repeated("dict(m)"),
    "{**m} copies": repeated("{**m}"),
    "big ints": repeated("9**700*7**400"),
    "pow with a modulus": repeated("pow(7**1300,5**1300,3**2000)"),
}

CHILD = r"""
import json, resource, sys, time
from yiti.scripting import ExpressionError, evaluate
# a json field holding a map, as a record may
names = {"m": {f"key{i}": i for i in range(50_000)}}
evaluate("len('x' * 10) + 1")  # warm up: compile caches, builtins
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
try:
    value = evaluate(sys.argv[1], names)
    outcome = "ok"
    del value
except ExpressionError as e:
    outcome = f"{e.code}: {e.reason}"
seconds = time.perf_counter() - started
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"mb": (after - before) / 1024, "s": seconds, "outcome": outcome}))
"""


def measure(source: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, source], capture_output=True, text=True, timeout=600
    )
    if done.returncode != 0:
        return {"mb": float("nan"), "s": float("nan"),
                "outcome": f"crashed ({done.returncode}): {done.stderr.strip()[-200:]}"}
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def main() -> None:
    chosen = sys.argv[1:] or list(ATTACKS)
    print(f"{'attack':<22} {'peak +MB':>9} {'seconds':>8}  outcome")
    for name in chosen:
        result = measure(ATTACKS[name])
        outcome = str(result["outcome"])
        print(f"{name:<22} {result['mb']:>9.1f} {result['s']:>8.3f}  {outcome[:90]}")


if __name__ == "__main__":
    main()
