"""The permissions kind: files are validated against the schema and the entities."""

from __future__ import annotations

from pathlib import Path

from yiti.config import PROJECT_ROOT
from yiti.definitions import check
from yiti.permissions.rules import declared_rules
from yiti.testing import load

PACKS = Path(__file__).parent / "packs"


def _pack(tmp_path: Path, text: str) -> Path:
    pack = tmp_path / "bad"
    (pack / "permissions").mkdir(parents=True)
    (pack / "module.yaml").write_text('name: bad\nversion: "1"\nlabel: Bad\ndepends: [example]\n')
    (pack / "permissions" / "p.yaml").write_text(text)
    return tmp_path


def test_declared_rules_are_a_table_with_sources() -> None:
    rules = declared_rules(load([PROJECT_ROOT / "modules", PACKS]))
    grant = rules.grant("Borrower", "loan")
    assert grant is not None and grant.actions == {"read", "create", "write", "submit"}
    assert rules.grant("Auditor", "item").actions == {"read", "export"}  # the * row
    assert "library.yaml:" in grant.source
    assert {"Librarian", "Borrower", "Clerk", "Auditor", "Administrator"} <= set(
        rules.role_names())


def test_unknown_entity_field_and_path_are_reported_with_hints(tmp_path: Path) -> None:
    root = _pack(tmp_path, (
        "access:\n  - [Clerk, contcat, read]\n"
        "rows:\n  - {role: Clerk, entity: contact, field: group.cod, user: group}\n"
        "fields:\n  - {role: Clerk, entity: contact, field: emial, access: hidden}\n"))
    problems = [str(p) for p in check([PROJECT_ROOT / "modules", root])]
    assert any("p.yaml:2" in p and "unknown entity 'contcat'" in p and "'contact'" in p
               for p in problems), problems
    assert any("unknown field 'cod'" in p and "'code'" in p for p in problems), problems
    assert any("unknown field 'emial'" in p and "'email'" in p for p in problems), problems


def test_schema_refuses_bad_actions(tmp_path: Path) -> None:
    root = _pack(tmp_path, "access:\n  - [Clerk, contact, read fly]\n")
    problems = [str(p) for p in check([PROJECT_ROOT / "modules", root])]
    assert any("p.yaml" in p for p in problems), problems
