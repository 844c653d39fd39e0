"""Helpers for definition tests: write packs to a temporary folder and load them.

Tests run in ``tmp_path`` (so error paths read ``modules/shop/entities/x.yaml`` whatever
the directory pytest started in) and find the example packs from this file's location.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from yiti.definitions import Model, check, load_model
from yiti.errors import DefinitionError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_PACKS = (ROOT / "modules" / "example", ROOT / "modules" / "example_ext")


class Site:
    """A folder of packs under construction."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.modules = root / "modules"
        self.modules.mkdir()

    def write(self, path: str, text: str) -> Path:
        """Write ``text`` (dedented) to ``path`` under the site's root."""
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return target

    def pack(
        self, name: str, files: dict[str, str] | None = None, depends: tuple[str, ...] = ()
    ) -> None:
        """A pack with a valid module.yaml and ``files`` (path in the pack → text)."""
        deps = f"depends: [{', '.join(depends)}]\n" if depends else ""
        self.write(f"modules/{name}/module.yaml", f'name: {name}\nversion: "1.0"\n{deps}')
        for path, text in (files or {}).items():
            self.write(f"modules/{name}/{path}", text)

    def check(self, **kwargs: object) -> list[DefinitionError]:
        return check([self.modules], **kwargs)  # type: ignore[arg-type]

    def model(self) -> Model:
        """The packs' model (they must have no problems)."""
        return load_model([self.modules])


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    monkeypatch.chdir(tmp_path)
    return Site(tmp_path)


def only(errors: list[DefinitionError]) -> DefinitionError:
    """The one error of a check, failing with all of them listed otherwise."""
    assert len(errors) == 1, "\n".join(str(e) for e in errors) or "no errors"
    return errors[0]


def located(error: DefinitionError, path: str, line: int, key: str, message: str = "") -> None:
    """``error`` is ``path:line: key: ...message...`` (``message`` a part of the text)."""
    assert (error.path, error.line, error.key) == (path, line, key), str(error)
    assert message in str(error), str(error)
