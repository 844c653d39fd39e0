"""Site settings, read once from the environment.

``DATABASE_URL`` (default SQLite under ``instance/``), ``REDIS_URL``, ``YITI_MODULES``
(folders holding module packs, separated by ``os.pathsep``), ``YITI_PACKS`` (comma-separated
pack names to load; all found when unset), ``YITI_OVERLAY`` (the site's overlay folder),
``YITI_INSTANCE`` (where the SQLite file, uploaded files and the job store live),
``YITI_TIMEZONE`` and ``YITI_CURRENCY``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

#: The project's checkout, when running from one (``make run``); packs live in its modules/.
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _default_root() -> Path:
    env = os.environ.get("YITI_ROOT")
    if env:
        return Path(env)
    if (PROJECT_ROOT / "modules").is_dir():
        return PROJECT_ROOT
    return Path.cwd()


@dataclass(frozen=True)
class Settings:
    database_url: str
    module_paths: tuple[Path, ...]
    packs: tuple[str, ...] | None = None
    overlay: Path | None = None
    instance_path: Path = field(default_factory=lambda: _default_root() / "instance")
    redis_url: str | None = None
    timezone: str = "Asia/Shanghai"
    currency: str = "CNY"
    secret_key: str | None = None
    #: Proxies in front that set X-Forwarded-For/-Proto/-Host (``YITI_PROXY_HOPS``): the
    #: client's address, scheme and host are then read from those headers, as many hops
    #: deep. 0 (the default) trusts none: a client could otherwise claim any address.
    proxy_hops: int = 0

    @property
    def files_path(self) -> Path:
        return self.instance_path / "files"

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


def from_env(environ: dict[str, str] | None = None) -> Settings:
    """Settings from environment variables, with defaults for a fresh checkout."""
    env = dict(os.environ if environ is None else environ)
    root = Path(env["YITI_ROOT"]) if env.get("YITI_ROOT") else _default_root()
    instance = Path(env.get("YITI_INSTANCE") or root / "instance")
    url = env.get("DATABASE_URL") or f"sqlite:///{instance / 'yiti.db'}"
    if url.startswith("postgres://") or url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    paths = tuple(Path(p) for p in env.get("YITI_MODULES", "").split(os.pathsep) if p)
    packs = tuple(p.strip() for p in env["YITI_PACKS"].split(",") if p.strip()) if env.get(
        "YITI_PACKS"
    ) else None
    overlay = Path(env["YITI_OVERLAY"]) if env.get("YITI_OVERLAY") else instance / "overlay"
    return Settings(
        database_url=url,
        module_paths=paths or (root / "modules",),
        packs=packs,
        overlay=overlay if overlay.is_dir() else None,
        instance_path=instance,
        redis_url=env.get("REDIS_URL") or None,
        timezone=env.get("YITI_TIMEZONE", "Asia/Shanghai"),
        currency=env.get("YITI_CURRENCY", "CNY"),
        secret_key=env.get("SECRET_KEY") or None,
        proxy_hops=_count(env, "YITI_PROXY_HOPS"),
    )


def _count(env: dict[str, str], name: str) -> int:
    raw = env.get(name, "").strip() or "0"
    if not raw.isdigit():
        raise ValueError(f"{name} must be a whole number (0 or more), not {raw!r}")
    return int(raw)
