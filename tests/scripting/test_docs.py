"""Every helper analysts can use is documented in docs/scripting.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from yiti.scripting import HELPERS

DOCS = (Path(__file__).parents[2] / "docs" / "scripting.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("helper", HELPERS)
def test_helper_is_documented(helper: str) -> None:
    assert f"`{helper}(" in DOCS


@pytest.mark.parametrize("function", ["get_record", "list_records", "create_record",
                                      "update_record", "notify", "log", "throw"])
def test_script_api_is_documented(function: str) -> None:
    assert f"`{function}(" in DOCS
