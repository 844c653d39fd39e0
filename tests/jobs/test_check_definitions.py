"""`yiti check` reports bad schedules, webhooks and notification templates at their
``path:line: key``, never as a traceback and not only when they run."""

from __future__ import annotations

import textwrap
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from yiti.cli import main
from yiti.definitions import check
from yiti.parts import register_all


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("YITI_MODULES", "YITI_PACKS", "YITI_OVERLAY", "YITI_ROOT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("YITI_INSTANCE", str(tmp_path / "instance"))
    register_all()
    return tmp_path


def pack(root: Path, files: dict[str, str]) -> str:
    """A pack with a unique name (its hooks module is imported once per name)."""
    name = f"chk{uuid.uuid4().hex[:10]}"
    folder = root / "modules" / name
    files = {"module.yaml": f'name: {name}\nversion: "1"\n',
             "entities/order.yaml": "entity: order\nfields:\n  total: {type: money}\n"
                                    "  status: {type: string}\n", **files}
    for path, text in files.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text).lstrip("\n").replace("PACK", name),
                          encoding="utf-8")
    return name


def lines(root: Path) -> list[str]:
    return [str(p).split("/", 2)[2] for p in check([root / "modules"])]


HOOKS = """
from yiti.jobs import job


@job("PACK.tidy")
def tidy(ctx):
    return None
"""


def test_schedule_problems_are_located(root: Path) -> None:
    pack(root, {
        "hooks.py": HOOKS,
        "schedules/ok.yaml": "schedule: fine\njob: PACK.tidy\ncron: '0 8 * * mon'\n"
                             "timezone: Asia/Shanghai\n",
        "schedules/cron.yaml": "schedule: bad_cron\njob: PACK.tidy\ncron: '0 25 * * *'\n",
        "schedules/fields.yaml": "schedule: six_fields\njob: PACK.tidy\ncron: '0 8 1 12 * 2026'\n",
        "schedules/unit.yaml": "schedule: bad_unit\njob: PACK.tidy\nevery: 15x\n",
        "schedules/short.yaml": "schedule: too_short\njob: PACK.tidy\nevery: 30s\n",
        "schedules/zone.yaml": "schedule: bad_zone\njob: PACK.tidy\nevery: 1h\n"
                               "timezone: Asia/Shangai\n",
        "schedules/job.yaml": "schedule: bad_job\njob: PACK.tidyy\nevery: 1h\n",
    })
    found = lines(root)
    assert found == [
        "schedules/cron.yaml:3: cron: '0 25 * * *' is not a cron expression: out of range "
        "(e.g. '0 8 * * *' is daily at 08:00, '*/15 * * * *' every quarter hour)",
        "schedules/fields.yaml:3: cron: '0 8 1 12 * 2026' is not a cron expression: it needs "
        "five fields (minute hour day-of-month month day-of-week), not 6 (e.g. '0 8 * * *' is "
        "daily at 08:00, '*/15 * * * *' every quarter hour)",
        found[2],
        "schedules/short.yaml:3: every: '30s' is shorter than a minute, the scheduler's tick",
        "schedules/unit.yaml:3: every: unknown interval unit 'x' in '15x': use s, m, h or d "
        "(seconds, minutes, hours, days)",
        "schedules/zone.yaml:4: timezone: unknown time zone 'Asia/Shangai' "
        "(did you mean 'Asia/Shanghai'?)",
    ]
    assert found[2].startswith("schedules/job.yaml:2: job: no job handler 'chk")
    assert "(did you mean 'chk" in found[2] and ".tidy'?)" in found[2]


def test_schedule_script_and_broken_hooks(root: Path) -> None:
    pack(root, {
        "hooks.py": "import no_such_module_anywhere\n",
        "scripts/api.yaml": "script: lookup\nevent: api\ncode: 'result = 1'\n",
        "scripts/nightly.yaml": "script: nightly\nevent: schedule\ncode: 'result = 1'\n",
        "schedules/a.yaml": "schedule: a\njob: automation.run_script\nevery: 1h\n"
                            "payload: {script: nightyl}\n",
        "schedules/b.yaml": "schedule: b\njob: automation.run_script\nevery: 1h\n"
                            "payload: {script: lookup}\n",
        "schedules/c.yaml": "schedule: c\njob: automation.run_script\nevery: 1h\n"
                            "payload: {script: nightly}\n",
        "schedules/d.yaml": "schedule: d\njob: PACK.nothing\nevery: 1h\n",
    })
    found = lines(root)
    assert found[0] == "hooks.py:1: hooks: cannot import the pack's hooks: " \
                       "ModuleNotFoundError: No module named 'no_such_module_anywhere'"
    assert found[1:] == [
        "schedules/a.yaml:4: payload.script: unknown script 'nightyl' "
        "(did you mean 'nightly'?)",
        "schedules/b.yaml:4: payload.script: script 'lookup' runs on 'api', not on a "
        f"schedule (give it event: schedule ({found[2].split('(give it event: schedule (')[1]}",
    ]
    # d's handler may be in the hooks that failed: not checked rather than called missing
    assert len(found) == 3


def test_webhook_problems_are_located(root: Path) -> None:
    pack(root, {
        "webhooks/a.yaml": """
            webhook: to_erp
            entity: order
            events: [created, submited]
            url: https://erp.example.com/hook
            condition: "totl > 0"
            fields: [total, stauts]
            """,
        "webhooks/b.yaml": "webhook: other\nentity: ordr\nurl: https://x.example.com/\n",
        "webhooks/c.yaml": "webhook: syntax\nentity: order\nurl: https://x.example.com/\n"
                           "condition: 'total >'\n",
    })
    found = lines(root)
    assert found[0] == ("webhooks/a.yaml:3: events[1]: 'submited' is not one of: created, "
                        "updated, submitted, cancelled, deleted, transition "
                        "(did you mean 'submitted'?)")
    assert found[1] == "webhooks/b.yaml:2: entity: unknown entity 'ordr' (did you mean 'order'?)"
    assert found[2].startswith("webhooks/c.yaml:4: condition: ")
    assert len(found) == 3  # a.yaml's other problems show once its events are right

    (root / "modules").joinpath(*next((root / "modules").iterdir()).parts[-1:],
                                "webhooks", "a.yaml").write_text(
        "webhook: to_erp\nentity: order\nevents: [created]\nurl: https://erp.example.com/\n"
        "condition: \"totl > 0\"\nfields: [total, stauts]\n", encoding="utf-8")
    found = lines(root)
    assert "webhooks/a.yaml:5: condition: " in found[0] and "'totl'" in found[0]
    assert found[1] == ("webhooks/a.yaml:6: fields[1]: unknown field 'stauts' of 'order' "
                        "(did you mean 'status'?)")


def test_notification_template_syntax_in_both_languages(root: Path) -> None:
    pack(root, {"notifications/low.yaml": """
        notification: low
        subject: {en: "{{ sku } is low", zh-CN: "{{ sku }} 库存不足"}
        body:
          en: "Only {{ qty }} left."
          zh-CN: |
            仅剩 {{ qty }} 件。
            {% if qty < 3 %}快补货！
        """})
    found = lines(root)
    assert found == [
        "notifications/low.yaml:2: subject.en: Jinja2 syntax error: unexpected '}'",
        "notifications/low.yaml:5: body.zh-CN: Jinja2 syntax error (line 2 of the template): "
        "Unexpected end of template. Jinja was looking for the following tags: 'elif' or "
        "'else' or 'endif'. The innermost block that needs to be closed is 'if'.",
    ]


def test_yiti_check_prints_them_and_fails(root: Path) -> None:
    pack(root, {"schedules/a.yaml": "schedule: a\njob: yiti.webhook\ncron: 'every day'\n"})
    result = CliRunner().invoke(main, ["check", "--modules", "modules"])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.output.splitlines()[0].endswith(
        "/schedules/a.yaml:3: cron: 'every day' is not a cron expression: it needs five "
        "fields (minute hour day-of-month month day-of-week), not 2 (e.g. '0 8 * * *' is "
        "daily at 08:00, '*/15 * * * *' every quarter hour)")


def test_cron_or_every_but_not_both(root: Path) -> None:
    pack(root, {
        "schedules/both.yaml": "schedule: both\njob: yiti.retention\ncron: '0 8 * * *'\n"
                               "every: 1h\n",
        "schedules/none.yaml": "schedule: none\njob: yiti.retention\n",
    })
    assert lines(root) == [
        "schedules/both.yaml:4: every: give 'cron' or 'every', not both",
        "schedules/none.yaml:1: cron or every: missing required key: give 'cron' or 'every'",
    ]


def test_hooks_that_fail_to_import_are_reported_once_where_they_fail(
        root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the hooks are a package whose submodule raises on its line 4; two schedules name
    # jobs of the pack, so both need its hooks imported
    name = pack(root, {
        "hooks/__init__.py": "from . import tasks  # noqa: F401\n",
        "hooks/tasks.py": "from yiti import api\n\n\n@api.hook('order', 'befor_save')\n"
                          "def check(doc, ctx):\n    return None\n",
        "schedules/a.yaml": "schedule: a\njob: PACK.tidy\nevery: 1h\n",
        "schedules/b.yaml": "schedule: b\njob: PACK.sweep\nevery: 1h\n",
    })
    from yiti.definitions.build import Build

    added: list[str] = []
    add = Build.add
    monkeypatch.setattr(Build, "add", lambda self, error: (added.append(str(error)),
                                                           add(self, error))[1])
    result = CliRunner().invoke(main, ["check", "--modules", "modules"])
    assert result.exit_code == 1, result.output
    hooks = f"modules/{name}/hooks/tasks.py:4: hooks: cannot import the pack's hooks: " \
            "ValueError: unknown event 'befor_save'; did you mean 'before_save'?"
    assert result.output.splitlines()[0] == hooks
    assert [line for line in added if ": hooks: " in line] == [hooks]  # not once a schedule
    assert result.output.count("cannot import") == 1
    # both handlers may be among the hooks that failed: not checked, rather than missing
    assert "no job handler" not in result.output
    assert f"the job handler '{name}.sweep' of modules/{name}/schedules/b.yaml:2 (the packs' " \
           f"hooks failed to import at modules/{name}/hooks/tasks.py:4)" in result.output
    assert result.output.splitlines()[-1] == "1 problem(s) in 1 file(s)."
