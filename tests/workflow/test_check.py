"""`yiti check` refuses broken workflows, each problem at its path:line: key."""

from __future__ import annotations

from pathlib import Path

import yiti.workflow  # noqa: F401 - registers the kind
from yiti.config import PROJECT_ROOT
from yiti.definitions import check

ENTITY = """entity: ticket
fields:
  title: {type: string}
  amount: {type: money}
  state: {type: select, options: [draft, review, done, limbo]}
"""
PERMISSIONS = "roles:\n  Agent: {label: Agent}\naccess:\n  - [Agent, ticket, read]\n"


def problems(tmp_path: Path, workflow: str, entities: dict[str, str] | None = None
             ) -> list[str]:
    pack = tmp_path / "modules" / "desk"
    for rel, text in {"module.yaml": "name: desk\nversion: '1'\n",
                      "entities/ticket.yaml": ENTITY, "permissions/roles.yaml": PERMISSIONS,
                      "workflows/ticket.yaml": workflow, **(entities or {})}.items():
        (pack / rel).parent.mkdir(parents=True, exist_ok=True)
        (pack / rel).write_text(text)
    return [str(e).replace(str(tmp_path) + "/", "") for e in check([tmp_path / "modules"])]


def test_a_good_workflow_and_the_example_pack_pass(tmp_path: Path):
    assert problems(tmp_path, """workflow: desk
entity: ticket
states:
  draft: {initial: true}
  review: {approvers: [{role: Agent}]}
  done: {final: true}
  limbo: {final: true}
transitions:
  - {action: send, from: draft, to: review}
  - {action: close, from: review, to: done, condition: "amount is None or amount < 10"}
  - {action: park, from: review, to: limbo}
""") == []
    example = check([PROJECT_ROOT / "modules"], packs=["example"])
    assert [str(e) for e in example if "/workflows/" in e.path] == []


def test_each_mistake_is_located(tmp_path: Path):
    found = problems(tmp_path, """workflow: desk
entity: ticket
states:
  draft: {initial: true}
  review: {approvers: [{role: Agnet}]}
  done: {final: true}
  limbo: {}
transitions:
  - {action: send, from: draft, to: reveiw}
  - {action: close, from: review, to: done, condition: "amont > 1 and"}
""")
    text = "\n".join(found)
    assert "workflows/ticket.yaml:5: states.review.approvers[0].role: unknown role 'Agnet'" \
        " (did you mean 'Agent'?)" in text
    assert "workflows/ticket.yaml:9: transitions[0].to: unknown state 'reveiw'" \
        " (did you mean 'review'?)" in text
    assert "workflows/ticket.yaml:10: transitions[1].condition:" in text
    assert "state 'limbo' is unreachable" in text
    assert "state 'limbo' has no way out" in text
    assert "state 'review' is unreachable" in text  # its only way in goes nowhere


def test_template_parameters_are_checked(tmp_path: Path):
    found = problems(tmp_path, """workflow: desk
entity: ticket
use: amount_aproval
""")
    assert found == ["modules/desk/workflows/ticket.yaml:3: use: unknown workflow template "
                     "'amount_aproval' (did you mean 'amount_approval'?)"]
    found = problems(tmp_path, """workflow: desk
entity: ticket
use: countersign
with:
  approvers: [{role: Boss}]
  mood: all
""")
    assert found == ["modules/desk/workflows/ticket.yaml:6: with.mood: template 'countersign' "
                     "has no parameter 'mood' (did you mean 'mode'?)"]
    found = problems(tmp_path, """workflow: desk
entity: ticket
use: countersign
with:
  approvers: [{role: Boss}]
""")
    assert any("ticket.yaml:4: " in p and "unknown role 'Boss'" in p for p in found), found
    assert any("state 'countersign' is not an option" in p for p in found), found


def test_docs_name_every_key_and_template():
    import json

    from yiti.workflow.templates import templates

    docs = (PROJECT_ROOT / "docs" / "workflow.md").read_text(encoding="utf-8")
    schema = json.loads((PROJECT_ROOT / "metadata" / "workflow.schema.json").read_text())
    keys = [*schema["properties"], *schema["$defs"]["state"]["properties"],
            *schema["$defs"]["transition"]["properties"]]
    assert [k for k in keys if f"`{k}" not in docs] == []
    assert [t for t in templates() if f"`{t}`" not in docs] == []


def test_notify_templates_are_checked_for_jinja2_syntax(tmp_path: Path):
    found = problems(tmp_path, """workflow: desk
entity: ticket
states:
  draft: {initial: true}
  review:
    approvers: [{role: Agent}]
    on_enter:
      - notify: [approvers]
        subject: {en: "{{ title } waits", zh-CN: "{{ title }} 等待审批"}
        body: "Open {% if link %}{{ link }}"
  done: {final: true}
  limbo: {final: true}
transitions:
  - {action: send, from: draft, to: review}
  - {action: close, from: review, to: done}
  - {action: park, from: review, to: limbo}
""")
    assert len(found) == 2, found
    text = "\n".join(found)
    assert "modules/desk/workflows/ticket.yaml:9: states.review.on_enter[0].subject.en: " \
           "Jinja2 syntax error: unexpected '}'" in text, text
    assert "modules/desk/workflows/ticket.yaml:10: states.review.on_enter[0].body: " \
           "Jinja2 syntax error: Unexpected end of template" in text, text


def test_notify_subject_and_body_render_as_templates():
    from yiti.workflow.actions import _render

    context = {"title": "Ticket T-1", "state": "Review", "link": "/app/ticket/1"}
    text = {"en": "{{ title }} is in {{ state }}", "zh-CN": "{{ title }} 处于 {{ state }}"}
    assert _render(text, "en", context) == "Ticket T-1 is in Review"
    assert _render(text, "zh-CN", context) == "Ticket T-1 处于 Review"
    assert _render("Open {{ link }}", "en", context) == "Open /app/ticket/1"
    # one that cannot render (the sandbox refuses) is sent as written, not lost
    assert _render("{{ title.__class__.__mro__ }}", "en", context) == \
        "{{ title.__class__.__mro__ }}"


def test_formulas_cannot_follow_a_link(tmp_path: Path):
    """A link's value is the linked record's id: a condition or set formula reading an
    attribute of it is reported at its line; the action's own names pass."""
    found = problems(tmp_path, """workflow: desk
entity: ticket
states:
  draft: {initial: true}
  done: {final: true}
transitions:
  - {action: close, from: draft, to: done, condition: "agent.level > 1 and title.strip()"}
  - {action: drop, from: draft, to: done, set: {title: "agent.code"},
     condition: "user.upper() != '' and doc.amount.is_zero() and comment is None"}
""", {"entities/ticket.yaml": ENTITY + "  agent: {type: link, entity: agent}\n",
      "entities/agent.yaml": "entity: agent\nfields:\n  code: {type: string}\n"
                             "  level: {type: integer}\n"})
    assert found == [
        "modules/desk/workflows/ticket.yaml:7: transitions[0].condition: agent is a link (the "
        "linked record's id): a formula cannot read agent.level; check it in a validate "
        "script or hook, which can read the agent record, or copy the value into a field of "
        "this entity (docs/scripting.md, 'Values of linked records')",
        "modules/desk/workflows/ticket.yaml:8: transitions[1].set.title: agent is a link (the "
        "linked record's id): a formula cannot read agent.code; check it in a validate "
        "script or hook, which can read the agent record, or copy the value into a field of "
        "this entity (docs/scripting.md, 'Values of linked records')",
    ]
