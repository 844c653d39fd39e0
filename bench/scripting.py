"""How much a sandboxed formula costs next to the same computation in plain Python.

Run: ``.venv/bin/python bench/scripting.py``. Prints both per-evaluation times and the
ratio; the target is under 20 µs per formula evaluation.
"""

from __future__ import annotations

import timeit
from decimal import Decimal

from yiti.scripting import compile_expression, record_names

FORMULA = "round_money(qty * price * (1 - discount)) + sum_of(lines, 'amount')"


def plain(qty: Decimal, price: Decimal, discount: Decimal, lines: list[dict]) -> Decimal:
    from decimal import ROUND_HALF_UP

    total = (qty * price * (1 - discount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return total + sum((line["amount"] for line in lines), Decimal(0))


def main() -> None:
    lines = [{"amount": Decimal("12.50")}, {"amount": Decimal("3.25")}, {"amount": Decimal("1")}]
    values = {"qty": Decimal("3"), "price": Decimal("19.99"), "discount": Decimal("0.15")}
    names = record_names(values, {"lines": lines})
    expr = compile_expression(FORMULA, filename="bench.yaml")
    assert expr.evaluate(names) == plain(**values, lines=lines)

    n = 20_000
    sandboxed = min(timeit.repeat(lambda: expr.evaluate(names), number=n, repeat=5)) / n
    native = min(timeit.repeat(lambda: plain(**values, lines=lines), number=n, repeat=5)) / n
    print(f"formula:  {FORMULA}")
    print(f"sandboxed evaluation: {sandboxed * 1e6:6.2f} µs")
    print(f"plain Python:         {native * 1e6:6.2f} µs")
    print(f"ratio:                {sandboxed / native:6.1f}x")
    print("target (< 20 µs):     " + ("met" if sandboxed < 20e-6 else "MISSED"))


if __name__ == "__main__":
    main()
