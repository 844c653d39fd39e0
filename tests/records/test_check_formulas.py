"""`yiti check` compiles every formula and rule before anything runs."""

from __future__ import annotations

from click.testing import CliRunner

from yiti.cli import main
from yiti.testing import write_pack


def test_check_reports_formula_and_rule_problems_with_their_lines(tmp_path):
    write_pack(tmp_path / "packs", "p", {"entities/thing.yaml": (
        "entity: thing\n"
        "rules:\n"
        "  - {condition: \"qtyy > 0\", message: bad, field: qty}\n"
        "fields:\n"
        "  qty: {type: integer}\n"
        "  total: {type: integer, formula: \"qty * __class__\"}\n"
        "  other: {type: integer, formula: \"qty +\"}\n"
        "  fine: {type: integer, formula: \"qty * 2\"}\n")})
    result = CliRunner().invoke(main, ["check", "--modules", str(tmp_path / "packs")])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert any(line.endswith("thing.yaml:3: rules[0].condition: unknown name 'qtyy'; "
                             "did you mean 'qty'?") for line in lines)
    assert any("thing.yaml:6: fields.total.formula:" in line and "__class__" in line
               for line in lines)
    assert any("thing.yaml:7: fields.other.formula: syntax error" in line for line in lines)
    assert not any("fields.fine" in line for line in lines)
    assert "Traceback" not in result.output
