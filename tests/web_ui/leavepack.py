"""A small HR leave pack, after the one an outside developer built from the docs: a leave
request titled by its employee (a link), a workflow status select named ``status`` whose
approval submits the record, transitions with Chinese labels; a submittable expense
with a plain Status field and no workflow; and a handover that links to leave requests
(on itself and on its task lines) and holds files. Used by the tests of what the screens show
(tests/web_ui/test_shown_values.py, tests/workflow/test_inbox_display.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import yiti.web.ui  # noqa: F401 - registers the saved-view table before the site is built
import yiti.workflow  # noqa: F401 - registers the workflow kind and tables before the site
from yiti.jobs import FakeClock
from yiti.permissions.rules import ADMINISTRATOR
from yiti.permissions.users import create_user
from yiti.site import Site
from yiti.testing import settings_for, write_pack
from yiti.workflow import install

PASSWORD = "correct horse battery staple"
TIMEZONE = "Asia/Shanghai"
#: When the clock starts: 01:30 UTC is 09:30 in Shanghai.
START = dt.datetime(2026, 3, 1, 1, 30, tzinfo=dt.UTC)

FILES = {
    "entities/department.yaml": """entity: department
label: {en: Department, zh-CN: 部门}
naming: {field: code}
title_field: title
fields:
  code: {type: string, required: true, unique: true, label: {en: Code, zh-CN: 代码}}
  title: {type: string, required: true, label: {en: Title, zh-CN: 名称}}
""",
    "entities/employee.yaml": """entity: employee
label: {en: Employee, zh-CN: 员工}
naming: {series: "EMP-{#####}"}
title_field: full_name
fields:
  full_name: {type: string, required: true, label: {en: Full name, zh-CN: 姓名}}
  department: {type: link, entity: department, label: {en: Department, zh-CN: 部门}}
""",
    "entities/leave_request.yaml": """entity: leave_request
label: {en: Leave request, zh-CN: 请假申请}
naming: {series: "LV-{#####}"}
submittable: true
title_field: employee
fields:
  employee: {type: link, entity: employee, required: true, label: {en: Employee, zh-CN: 员工}}
  stand_in: {type: link, entity: employee, label: {en: Stand-in, zh-CN: 代理人}}
  start_date: {type: date, label: {en: Start date, zh-CN: 开始日期}}
  requested_at: {type: datetime, label: {en: Requested at, zh-CN: 申请时间}}
  reason: {type: text, label: {en: Reason, zh-CN: 事由}}
  status:
    type: select
    read_only: true
    default: draft
    label: {en: Status, zh-CN: 状态}
    options:
      - {value: draft, label: {en: Draft, zh-CN: 草稿}}
      - {value: submitted, label: {en: Submitted, zh-CN: 已提交}}
      - {value: approved, label: {en: Approved, zh-CN: 已批准}}
      - {value: rejected, label: {en: Rejected, zh-CN: 已驳回}}
""",
    "entities/expense.yaml": """entity: expense
label: {en: Expense, zh-CN: 费用}
naming: {series: "EX-{#####}"}
submittable: true
fields:
  title: {type: string, required: true, label: {en: Title, zh-CN: 名称}}
  status:
    type: select
    default: open
    label: {en: Status, zh-CN: 状态}
    options:
      - {value: open, label: {en: Open, zh-CN: 未结}}
      - {value: paid, label: {en: Paid, zh-CN: 已付}}
""",
    "entities/handover.yaml": """entity: handover
label: {en: Handover, zh-CN: 交接}
naming: {series: "HO-{#####}"}
title_field: note
fields:
  note: {type: string, label: {en: Note, zh-CN: 备注}}
  leave: {type: link, entity: leave_request, label: {en: Leave, zh-CN: 请假}}
  document: {type: attachment, label: {en: Document, zh-CN: 文件}}
  tasks: {type: table, entity: handover_task, label: {en: Tasks, zh-CN: 任务}}
""",
    "entities/handover_task.yaml": """entity: handover_task
label: {en: Handover task, zh-CN: 交接任务}
child: true
fields:
  leave: {type: link, entity: leave_request, label: {en: Leave, zh-CN: 请假}}
  sheet: {type: attachment, label: {en: Sheet, zh-CN: 表格}}
""",
    "views/handover.yaml": """view: handover
entity: handover
label: {en: Handovers, zh-CN: 交接}
columns: [name, note, leave, document]
""",
    "views/leave_request.yaml": """view: leave_request
entity: leave_request
label: {en: Leave requests, zh-CN: 请假申请}
columns: [name, employee, start_date, requested_at, status]
""",
    "views/employee.yaml": """view: employee
entity: employee
label: {en: Employees, zh-CN: 员工}
columns: [name, full_name, department, created_at]
""",
    "views/expense.yaml": """view: expense
entity: expense
label: {en: Expenses, zh-CN: 费用}
columns: [name, title, status]
""",
    "workflows/leave_request.yaml": """workflow: leave_approval
entity: leave_request
label: {en: Leave approval, zh-CN: 请假审批}
state_field: status
states:
  draft: {initial: true, label: {en: Draft, zh-CN: 草稿}}
  submitted:
    label: {en: Waiting for HR, zh-CN: 待人事审批}
    editable: []
    approvers: [{role: HR Manager, label: {en: HR, zh-CN: 人事}}]
  approved: {label: {en: Approved, zh-CN: 已批准}, final: true, submitted: true}
  rejected: {label: {en: Rejected, zh-CN: 已驳回}, final: true, editable: []}
transitions:
  - {action: submit, label: {en: Send for approval, zh-CN: 提交}, from: draft, to: submitted}
  - {action: approve, label: {en: Approve, zh-CN: 批准}, from: submitted, to: approved,
     approves: true}
  - {action: reject, label: {en: Reject, zh-CN: 驳回}, from: submitted, to: rejected}
""",
    "permissions/leave.yaml": """roles:
  Employee: {label: Employee}
  HR Manager: {label: HR manager}
  Desk: {label: Desk}
  Outsider: {label: Outsider}
access:
  - [Employee, employee, read]
  - [Employee, department, read]
  - [Employee, leave_request, read create write]
  - [HR Manager, employee, read]
  - [HR Manager, department, read]
  - [HR Manager, leave_request, read]
  - [Employee, handover, read create write]
  - [Desk, handover, read]
  - [Desk, leave_request, read]
  - [Outsider, handover, read]
""",
}


def build_site(db_url: str, tmp_path: Path, clock: FakeClock | None = None,
               timezone: str = TIMEZONE) -> Site:
    """The pack migrated into a fresh database, its workflow installed, with the users
    ``clerk`` (Administrator), ``ann`` (Employee), ``hana`` (HR Manager), ``desk`` (reads
    leave requests and handovers, not employees) and ``otto`` (reads handovers only)."""
    write_pack(tmp_path / "packs", "leave", FILES)
    site = Site(settings_for(db_url, tmp_path, modules=[tmp_path / "packs"], packs=["leave"])
                .with_(timezone=timezone))
    site.migrate()
    install(site, clock=clock or FakeClock(START))
    create_user(site, "clerk", PASSWORD, roles=[ADMINISTRATOR])
    create_user(site, "ann", PASSWORD, roles=["Employee"])
    create_user(site, "hana", PASSWORD, roles=["HR Manager"])
    create_user(site, "desk", PASSWORD, roles=["Desk"])
    create_user(site, "otto", PASSWORD, roles=["Outsider"])
    return site


def people(site: Site) -> dict[str, dict[str, Any]]:
    """A department and two employees: Ann Lee and Bob Wu."""
    records = site.records()
    hr = records.create("department", {"code": "HR", "title": "Human resources"})
    ann = records.create("employee", {"full_name": "Ann Lee", "department": hr["id"]})
    bob = records.create("employee", {"full_name": "Bob Wu", "department": hr["id"]})
    return {"hr": hr, "ann": ann, "bob": bob}


@pytest.fixture(name="site")
def site_fixture(db_url: str, tmp_path: Path) -> Iterator[Site]:
    """``site``: the pack's site, for the test modules that import this fixture."""
    site = build_site(db_url, tmp_path)
    yield site
    site.close()


@pytest.fixture(name="staff")
def staff_fixture(site: Site) -> dict[str, dict[str, Any]]:
    """:func:`people` of the module's ``site``."""
    return people(site)
