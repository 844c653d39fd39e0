"""A formula past its CPU time refuses the save at its field (scripting/cpu.py): a JSON
field holds a large list, and a formula scans it hundreds of times."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from yiti.errors import ValidationError
from yiti.scripting import cpu
from yiti.site import Site
from yiti.testing import settings_for, write_pack

SCANS = "(" + ",".join(["max(data)"] * 390) + ")[0]"  # 3,903 characters
REPORT = f"""entity: sensor_report
fields:
  data: {{type: json}}
  peak: {{type: integer, formula: "{SCANS}"}}
"""


@pytest.fixture
def site(tmp_path: Path, db_url: str) -> Iterator[Site]:
    write_pack(tmp_path / "packs", "sensors", {"entities/sensor_report.yaml": REPORT})
    site = Site(settings_for(db_url, tmp_path, modules=[tmp_path / "packs"]))
    site.migrate()
    yield site
    site.close()


@pytest.mark.skipif(not cpu.enforced(), reason="no per-thread CPU clocks here")
def test_a_formula_past_its_cpu_time_refuses_the_save_at_its_field(site: Site) -> None:
    records = site.records()
    assert records.create("sensor_report", {"data": [1, 5, 3]})["peak"] == 5
    started = time.thread_time()
    with pytest.raises(ValidationError) as refused:
        records.create("sensor_report", {"data": list(range(100_000))})
    assert time.thread_time() - started < 2  # 0.3-0.7 s of formula alone before
    [problem] = refused.value.problems
    assert (problem.field, problem.code) == ("peak", "formula")
    assert problem.message.startswith("could not be computed: ")
    assert "the formula used more than its 0.1 s of CPU time" in problem.message
