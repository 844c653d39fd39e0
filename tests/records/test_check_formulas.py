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


def test_a_syntax_error_points_at_its_column_and_other_names_are_still_checked(tmp_path):
    # an outsider's formula: a dangling `else` at the end, and a misspelt `priorty` that
    # showed only once the syntax was fixed
    formula = ("add_days(request_date, 1 if priority == 'urgent' else 2 if priorty == 'high' "
               "else 5 if priority == 'normal' else )")
    write_pack(tmp_path / "packs", "p", {"entities/request.yaml": (
        "entity: request\n"
        "fields:\n"
        "  request_date: {type: date}\n"
        "  priority: {type: select, options: [low, normal, high, urgent]}\n"
        f"  sla_due: {{type: date, formula: \"{formula}\"}}\n"
        "  paren: {type: integer, formula: \"round(1 * (2, 2\"}\n")})
    result = CliRunner().invoke(main, ["check", "--modules", str(tmp_path / "packs")])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    at = next(i for i, line in enumerate(lines) if "fields.sla_due.formula: syntax" in line)
    assert lines[at].endswith("request.yaml:5: fields.sla_due.formula: syntax error: invalid "
                              f"syntax (column {len(formula)})")
    assert lines[at + 1] == "    ...gh' else 5 if priority == 'normal' else )"
    assert lines[at + 2] == "    " + " " * (len(lines[at + 1]) - 5) + "^"  # under the ')'
    assert any(line.endswith("request.yaml:5: fields.sla_due.formula: unknown name 'priorty'; "
                             "did you mean 'priority'?") for line in lines), lines
    paren = next(i for i, line in enumerate(lines) if "fields.paren.formula" in line)
    assert lines[paren].endswith("syntax error: '(' was never closed (column 11)")
    assert lines[paren + 1:paren + 3] == ["    round(1 * (2, 2", "              ^"]
    assert lines[-1] == "3 problem(s) in 1 file(s)."


def test_a_select_compared_with_text_that_is_no_option_is_reported(tmp_path):
    # an outsider's approval path `kind == 'repiar' or ...` passed the check and never ran
    write_pack(tmp_path / "packs", "p", {
        "entities/request.yaml": (
            "entity: request\n"
            "rules:\n"
            "  - {condition: \"kind not in ('return', 'exchnage') or amount\", message: m}\n"
            "fields:\n"
            "  kind: {type: select, options: [return, repair, exchange]}\n"
            "  other: {type: select, options: [return]}\n"
            "  amount: {type: integer}\n"
            "  status: {type: select, options: [new, done]}\n"
            "  fine: {type: integer, formula: \"1 if kind == other or kind in ('return', "
            "'repair') or doc.kind != 'exchange' or 'x' == amount else 2\"}\n"
            "  flag: {type: integer, formula: \"1 if 'repiar' == doc.kind else 0\"}\n"),
        "forms/request.yaml": ("form: request\nentity: request\nsections:\n"
                               "  - fields: [kind, amount]\n"
                               "visible_if:\n  amount: \"kind != 'retrun'\"\n"),
        "workflows/request.yaml": (
            "workflow: request\nentity: request\nstate_field: status\n"
            "states:\n  new: {initial: true}\n  done: {final: true}\n"
            "transitions:\n  - {action: finish, from: new, to: done,\n"
            "     condition: \"kind == 'repiar' or amount <= 500\"}\n"),
    })
    result = CliRunner().invoke(main, ["check", "--modules", str(tmp_path / "packs")])
    assert result.exit_code == 1
    found = sorted(line.split("/p/", 1)[1] for line in result.output.splitlines()
                   if "/p/" in line and ": warning: " not in line)
    assert found == [
        "entities/request.yaml:10: fields.flag.formula: kind: 'repiar' is not an option; did "
        "you mean 'repair'? (choose from return, repair, exchange)",
        "entities/request.yaml:3: rules[0].condition: kind: 'exchnage' is not an option; did "
        "you mean 'exchange'? (choose from return, repair, exchange)",
        "forms/request.yaml:6: visible_if.amount: kind: 'retrun' is not an option; did you "
        "mean 'return'? (choose from return, repair, exchange)",
        "workflows/request.yaml:9: transitions[0].condition: kind: 'repiar' is not an option; "
        "did you mean 'repair'? (choose from return, repair, exchange)",
    ], result.output
