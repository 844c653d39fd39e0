"""Helpers for testing the engine and packs: throwaway databases and sites.

``YITI_TEST_DATABASE_URL`` (a PostgreSQL URL) makes every test database a fresh schema
in that database; without it each test gets its own SQLite file.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import create_engine, text

from yiti.config import PROJECT_ROOT, Settings
from yiti.definitions.model import Model

ENV = "YITI_TEST_DATABASE_URL"


def postgres_url() -> str | None:
    return os.environ.get(ENV) or None


@contextmanager
def temporary_database(tmp_path: Path, *, base_url: str | None = None) -> Iterator[str]:
    """A database URL nobody else uses, dropped afterwards."""
    base_url = base_url if base_url is not None else postgres_url()
    if not base_url:
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in base_url else "?"
    try:
        # public stays on the path after the test's own schema: extensions such as
        # pg_trgm live there, as they do on a real site.
        yield f"{base_url}{sep}options={quote(f'-csearch_path={schema},public')}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def settings_for(url: str, tmp_path: Path, *, modules: Sequence[Path] | None = None,
                 packs: Sequence[str] | None = None, overlay: Path | None = None) -> Settings:
    return Settings(
        database_url=url,
        module_paths=tuple(modules or (PROJECT_ROOT / "modules",)),
        packs=tuple(packs) if packs else None,
        overlay=overlay,
        instance_path=tmp_path / "instance",
        secret_key="test-secret",
    )


def write_pack(modules: Path, name: str, files: Mapping[str, str]) -> Path:
    """A small pack for one test, in the folder of packs ``modules``: its ``module.yaml``
    and ``files`` (path in the pack → text, e.g. ``{"entities/thing.yaml": ...}``)."""
    pack = modules / name
    pack.mkdir(parents=True, exist_ok=True)
    (pack / "module.yaml").write_text(f"name: {name}\nversion: '1'\nlabel: {name}\n",
                                      encoding="utf-8")
    for path, content in files.items():
        (pack / path).parent.mkdir(parents=True, exist_ok=True)
        (pack / path).write_text(content, encoding="utf-8")
    return pack


def load(modules: Sequence[Path] | None = None, packs: Sequence[str] | None = None,
         overlay: Path | None = None) -> Model:
    from yiti.definitions import load_model
    from yiti.parts import register_all

    register_all()
    return load_model(list(modules or (PROJECT_ROOT / "modules",)), packs=packs,
                      overlay=overlay)
