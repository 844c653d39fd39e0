"""`yiti check` reports attributes a formula reads from a field's value that the value does
not have: a link is the linked record's id, so `employee.annual_allowance` fails on every
save; it is reported at its line instead. Reads on records and the methods the sandbox
allows pass."""

from __future__ import annotations

from click.testing import CliRunner

from yiti.cli import main
from yiti.scripting import attribute_reads
from yiti.testing import write_pack

EMPLOYEE = """entity: employee
fields:
  user: {type: string}
  annual_allowance: {type: decimal}
"""
LINE = """entity: leave_line
child: true
fields:
  day: {type: date}
  substitute: {type: link, entity: employee}
  note: {type: string, required_if: "%s"}
"""
LEAVE = """entity: leave_request
rules:
%s
fields:
  employee: {type: link, entity: employee}
  days: {type: decimal}
  reason: {type: string}
  starts: {type: date}
  ends: {type: datetime}
  extra: {type: json}
  note: {type: attachment}
  lines: {type: table, entity: leave_line}
  total: {type: decimal, formula: "%s"}
"""


def check(tmp_path, rules: list[str], required_if: str = "day is None",
          total: str = "coalesce(days, 0)") -> list[str]:
    write_pack(tmp_path / "packs", "hr", {
        "entities/employee.yaml": EMPLOYEE, "entities/leave_line.yaml": LINE % required_if,
        "entities/leave_request.yaml": LEAVE % ("\n".join(
            f"  - {{condition: \"{c}\", message: bad}}" for c in rules), total)})
    result = CliRunner().invoke(main, ["check", "--modules", str(tmp_path / "packs")])
    assert "Traceback" not in result.output
    return [line.replace(str(tmp_path) + "/", "") for line in result.output.splitlines()
            if ": " in line]


def test_a_link_followed_in_a_rule_is_reported_at_its_line(tmp_path):
    found = check(tmp_path, ["days is None or days <= employee.annual_allowance"])
    assert ("packs/hr/entities/leave_request.yaml:3: rules[0].condition: employee is a link "
            "(the linked record's id): a formula cannot read employee.annual_allowance; check "
            "it in a validate script or hook, which can read the employee record, or copy the "
            "value into a field of this entity (docs/scripting.md, 'Values of linked records')"
            ) in found


def test_links_in_formulas_required_if_and_paths(tmp_path):
    found = check(tmp_path, ["doc.employee.user != 'x'", "lines[0].substitute.user != ''"],
                  required_if="parent.employee.user == 'x'",
                  total="coalesce(days, 0) + employee.annual_allowance")
    text = "\n".join(found)
    assert ("leave_request.yaml:14: fields.total.formula: employee is a link (the linked "
            "record's id): a formula cannot read employee.annual_allowance") in text
    assert ("leave_request.yaml:3: rules[0].condition: doc.employee is a link (the linked "
            "record's id): a formula cannot read doc.employee.user") in text
    assert ("leave_request.yaml:4: rules[1].condition: lines[0].substitute is a link (the "
            "linked record's id): a formula cannot read lines[0].substitute.user") in text
    assert ("leave_line.yaml:6: fields.note.required_if: parent.employee is a link (the "
            "linked record's id): a formula cannot read parent.employee.user") in text
    assert len(found) == 4  # nothing else


def test_attributes_other_values_do_not_have(tmp_path):
    found = check(tmp_path, ["days.annual_allowance > 0", "reason.uper() == 'X'",
                             "lines.qty > 0", "doc.starts.hour == 1", "note.size > 0"])
    text = "\n".join(found)
    assert ("rules[0].condition: days is a decimal field (a decimal number): a formula "
            "cannot read days.annual_allowance") in text
    assert ("rules[1].condition: reason is a string field (text): a formula cannot read "
            "reason.uper; did you mean 'upper'?") in text
    assert ("rules[2].condition: lines is a table (its lines): a formula cannot read "
            "lines.qty; read a line's field (lines[0].qty) or all of them "
            "(sum_of(lines, 'qty'), values_of(...))") in text
    assert "rules[3].condition: doc.starts is a date field (a date): a formula cannot " \
        "read doc.starts.hour" in text
    assert "rules[4].condition: note is an attachment (the file's id): a formula cannot " \
        "read note.size" in text


def test_legitimate_attribute_use_passes(tmp_path):
    found = check(tmp_path, [
        "lines[0].day is None or sum_of(lines, 'day') is None",
        "count_of(lines) == 0 or lines[-1].substitute is None or doc.lines[0].note",
        "doc.days is None or doc['days'] > 0 and days.quantize(decimal('0.1')) == days",
        "reason is None or reason.upper().strip() != '' and name.upper() != ''",
        "starts is None or starts.year > 2000 and starts.weekday() < 5 and ends.hour < 23",
        "extra is None or extra.get('x') is None",
        "today().year > 2000 and employee is not None and lines.count(None) == 0",
    ], required_if="parent.days is not None and day.month == 1")
    assert len(found) == 1 and found[0].startswith("ok: 1 packs"), found


def test_attribute_reads_finds_paths_from_names():
    reads = attribute_reads('lines[0].item.price + doc["x"].y + f(a).b + (a or b).c + n.m')
    assert sorted((r.steps, r.attribute, r.target) for r in reads) == [
        (("doc", "x"), "y", "doc['x']"),
        (("lines", None), "item", "lines[0]"),
        (("lines", None, "item"), "price", "lines[0].item"),
        (("n",), "m", "n"),
    ]
    assert attribute_reads("1 +") == []  # not a formula: reported by the compiler
