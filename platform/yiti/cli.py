"""The ``yiti`` command: check definitions, migrate, load demo data, serve."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from yiti.config import Settings, from_env
from yiti.parts import register_all

if TYPE_CHECKING:
    from yiti.definitions import Model
    from yiti.definitions.loader import Partial
    from yiti.errors import DefinitionError


def _settings(modules: tuple[str, ...] = (), packs: str | None = None,
              overlay: str | None = None) -> Settings:
    settings = from_env()
    changes: dict[str, object] = {}
    if modules:
        changes["module_paths"] = tuple(Path(m) for m in modules)
    if packs:
        changes["packs"] = tuple(p.strip() for p in packs.split(",") if p.strip())
    if overlay:
        changes["overlay"] = Path(overlay)
    return settings.with_(**changes) if changes else settings


def _site(settings: Settings):  # noqa: ANN202 - imported lazily to keep `yiti check` light
    from yiti.errors import DefinitionErrors
    from yiti.site import Site

    try:
        return Site(settings)
    except DefinitionErrors as errors:
        for error in errors.errors:
            click.echo(str(error), err=True)
        click.echo(f"{len(errors.errors)} problem(s) in the definitions; "
                   "run `yiti check` for details.", err=True)
        sys.exit(1)


@contextmanager
def _open_site() -> Iterator[Any]:
    """The site of the environment's settings, closed after; a refusal of the platform's
    (a :class:`~yiti.errors.YitiError`) is printed as ``error: ...`` and exits with 1."""
    from yiti.errors import YitiError

    site = _site(_settings())
    try:
        yield site
    except YitiError as error:
        click.echo(f"error: {error.message}", err=True)
        sys.exit(1)
    finally:
        site.close()


@click.group()
def main() -> None:
    """Yiti (一体): a metadata-driven business platform."""


@main.command()
@click.option("--modules", multiple=True, help="A folder of module packs (repeatable).")
@click.option("--packs", help="Comma-separated packs to load (default: all found).")
@click.option("--overlay", help="The site's overlay folder.")
def check(modules: tuple[str, ...], packs: str | None, overlay: str | None) -> None:
    """Validate every definition; print each problem as path:line: key: message (hint)."""
    from yiti.definitions.loader import build_partial

    try:
        register_all()  # so their files are checked as the site will load them
        settings = _settings(modules, packs, overlay)
        loaded = build_partial(list(settings.module_paths), packs=settings.packs,
                               overlay=settings.overlay)
        later, unchecked = _model_checks(loaded)
    except Exception as error:  # never a traceback for the analyst
        where = ", ".join(str(p) for p in (modules or ("modules",)))
        click.echo(f"{where}: error: {type(error).__name__}: {error}", err=True)
        sys.exit(2)
    shown = {str(problem) for problem in loaded.problems}
    problems = [*loaded.problems, *(p for p in later if str(p) not in shown)]
    for problem in problems:
        click.echo(str(problem))
    for warning in loaded.warnings:  # worth a look, and no reason to fail
        click.echo(str(warning))
    if loaded.warnings:
        click.echo(f"{len(loaded.warnings)} warning(s).")
    if problems:
        if unchecked:
            click.echo(f"Not checked until the problems above are fixed: "
                       f"{'; '.join(unchecked)}.")
        files = len({p.path for p in problems})
        click.echo(f"{len(problems)} problem(s) in {files} file(s).")
        sys.exit(1)
    model = loaded.model
    extra = "".join(f", {len(found)} {folder}" for folder, found in model.extra.items())
    click.echo(
        f"ok: {len(model.modules)} packs, {len(model.entities)} entities, "
        f"{len(model.forms)} forms, {len(model.views)} views, {len(model.workflows)} workflows, "
        f"{len(model.reports)} reports{extra}"
    )


def _model_checks(loaded: Partial) -> tuple[list[DefinitionError], list[str]]:
    """The problems of the checks that need a model, run on ``loaded.model`` (partial when
    there are problems), and what they could not check until those problems are fixed."""
    from yiti.extensions import hooks_problems
    from yiti.fixtures import fixture_problems
    from yiti.records.formulas import check_model
    from yiti.web.pack_endpoints import endpoint_problems

    unchecked: list[str] = list(loaded.unchecked)

    def run(what: str, check: Callable[[Model], list[Any]]) -> list[DefinitionError]:
        try:
            return list(check(loaded.model))
        except Exception:
            if not loaded.problems:
                raise  # a complete model: the check itself failed
            unchecked.append(what)  # it needs something the problems above left out
            return []

    formulas = "formulas, required_if and rules"
    found = run(formulas, check_model)
    if loaded.left_out and formulas not in unchecked:
        entities = "entity" if len(loaded.left_out) == 1 else "entities"
        unchecked.append(f"{formulas} of {entities} {', '.join(loaded.left_out)}")
    found += run("the packs' hooks", lambda model: hooks_problems(model.modules))
    found += run("the packs' fixture files",
                 lambda model: fixture_problems(model, loaded.left_out))
    endpoints = run("the x-yiti-options of pack endpoints", endpoint_problems)
    if endpoints and loaded.left_out:  # they may name an entity left out, as if unknown
        unchecked.append("the x-yiti-options of pack endpoints")
    else:
        found += endpoints
    return found, unchecked


@main.command()
@click.argument("entities", nargs=-1, required=True)
@click.option("--modules", multiple=True, help="A folder of module packs (repeatable).")
@click.option("--packs", help="Comma-separated packs to load (default: all found).")
def fields(entities: tuple[str, ...], modules: tuple[str, ...], packs: str | None) -> None:
    """Print entities' fields as Markdown tables (what other packs link to and read)."""
    from yiti.definitions import load_model
    from yiti.errors import DefinitionErrors, did_you_mean

    register_all()
    settings = _settings(modules, packs)
    try:
        model = load_model(list(settings.module_paths), packs=settings.packs,
                           overlay=settings.overlay)
    except DefinitionErrors as errors:
        click.echo(f"{len(errors.errors)} problem(s) in the definitions; "
                   "run `yiti check` for details.", err=True)
        sys.exit(1)
    for name in entities:
        if name not in model.entities:
            hint = did_you_mean(name, model.entities)
            click.echo(f"error: unknown entity {name!r}" + (f"; {hint}" if hint else ""),
                       err=True)
            sys.exit(1)
    click.echo("\n\n".join(fields_table(model, name) for name in entities))


def fields_table(model: Model, name: str) -> str:
    """One entity's fields as a Markdown table: name, type (a link's or table's entity),
    required / unique / read-only / computed, and the English label."""
    from yiti.definitions.model import label_text

    entity = model.entities[name]
    lines = [f"`{name}` ({label_text(entity.label, 'en')})" + (
             f", lines of `{entity.parent}`" if entity.child and entity.parent else ""), "",
             "| field | type | notes | label |", "| --- | --- | --- | --- |"]
    for f in entity.fields.values():
        kind = f"{f.type} → `{f.target}`" if f.target else f.type
        notes = [n for n, on in (("required", f.required), ("unique", f.unique),
                                 ("computed", bool(f.formula)),
                                 ("read-only", f.read_only and not f.formula)) if on]
        lines.append(f"| `{f.name}` | {kind} | {', '.join(notes)} | "
                     f"{label_text(f.label, 'en')} |")
    return "\n".join(lines)


@main.command()
@click.option("--dry-run", is_flag=True, help="Run the whole plan, report, change nothing.")
@click.option("--allow-destructive", is_flag=True, help="Allow dropping or narrowing data.")
def migrate(dry_run: bool, allow_destructive: bool) -> None:
    """Bring the database in line with the definitions, then load the fixtures every
    site needs (those without `demo: true`; records already there are left as they are)."""
    from yiti.errors import MigrationRefused, YitiError
    from yiti.fixtures import load_fixtures
    from yiti.jobs import install as install_jobs

    settings = _settings()
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    site = _site(settings)
    try:
        result = site.migrate(allow_destructive=allow_destructive, dry_run=dry_run)
        click.echo(("Dry run (nothing changed):\n" if dry_run else "") + result.describe())
        if dry_run:
            return
        install_jobs(site)  # so fixture records fire webhooks like any others
        counts = load_fixtures(site)
    except MigrationRefused as refused:
        click.echo(refused.message, err=True)
        sys.exit(1)
    except YitiError as error:  # the schema is migrated; a fixture file was refused
        click.echo(f"error: the database is migrated, but loading the fixtures stopped: "
                   f"{error.message}", err=True)
        sys.exit(1)
    finally:
        site.close()
    click.echo(f"Loaded {sum(counts.values())} fixture record(s) from {len(counts)} file(s); "
               "records already there were left as they are.")


@main.command()
def demo() -> None:
    """Load every pack's fixtures, demo data included (safe to run again)."""
    from yiti.definitions.source import display_path
    from yiti.errors import YitiError
    from yiti.fixtures import load_fixtures
    from yiti.jobs import install as install_jobs
    from yiti.permissions.users import demo_admin_password_path, ensure_demo_admin

    site = _site(_settings())
    install_jobs(site)  # so demo records fire webhooks like any others
    try:
        counts = load_fixtures(site, demo=True)
        name, password = ensure_demo_admin(site)
        kept = display_path(demo_admin_password_path(site))
    except YitiError as error:
        click.echo(f"error: {error.message}", err=True)
        sys.exit(1)
    finally:
        site.close()
    total = sum(counts.values())
    click.echo(f"Loaded {total} record(s) of demo data and fixtures.")
    click.echo(f"Sign in at /auth/login as {name!r} with password {password!r} "
               f"(kept in {kept}).")


@main.group()
def user() -> None:
    """Create users and change their passwords and roles."""


def _language(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """``--language`` as one of the site's languages, spelt as the site spells it
    (``zh-cn`` is ``zh-CN``); a usage error naming them otherwise."""
    from yiti.errors import ValidationError
    from yiti.languages import site_language

    try:
        return site_language(value)
    except ValidationError as error:
        raise click.BadParameter(error.problems[0].message) from None


@user.command("create")
@click.argument("name")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--role", "roles", multiple=True, help="A role (repeatable).")
@click.option("--attr", "attrs", multiple=True, help="key=value for row rules (repeatable).")
@click.option("--full-name")
@click.option("--email")
@click.option("--language", callback=_language,
              help="The user's language (en, zh-CN): their screens, e-mails and "
                   "notifications. Default: the browser's, notifications in English.")
def user_create(name: str, password: str, roles: tuple[str, ...], attrs: tuple[str, ...],
                full_name: str | None, email: str | None, language: str | None) -> None:
    """Create user NAME (e.g. yiti user create ann --password ... --role Administrator)."""
    from yiti.permissions.users import create_user

    attributes = dict(a.split("=", 1) for a in attrs if "=" in a)
    with _open_site() as site:
        create_user(site, name, password, roles=roles, full_name=full_name, email=email,
                    attributes=attributes, language=language)
    click.echo(f"Created user {name!r} with roles: {', '.join(roles) or '(none)'}.")


@user.command("password")
@click.argument("name")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def user_password(name: str, password: str) -> None:
    """Set NAME's password; every session of the user ends."""
    from yiti.permissions.users import set_password

    with _open_site() as site:
        set_password(site, name, password)
    click.echo(f"Password of {name!r} changed.")


@user.command("roles")
@click.argument("name")
@click.option("--role", "roles", multiple=True, help="A role (repeatable); none: no roles.")
def user_roles(name: str, roles: tuple[str, ...]) -> None:
    """Replace NAME's roles."""
    from yiti.permissions.users import set_roles

    with _open_site() as site:
        set_roles(site, name, roles)
    click.echo(f"Roles of {name!r}: {', '.join(roles) or '(none)'}.")


@main.group()
def token() -> None:
    """Create and revoke API tokens (for integrations and scripted set-up)."""


@token.command("create")
@click.argument("name")
@click.option("--scope", "scopes", multiple=True, default=("*",), show_default=True,
              help="A scope (repeatable): *, read:<entity|*>, write:<entity|*>.")
@click.option("--label", help="What the token is for (shown in the user's token list).")
@click.option("--days", type=click.IntRange(1, 3650), help="Expires after this many days.")
def token_create(name: str, scopes: tuple[str, ...], label: str | None,
                 days: int | None) -> None:
    """Create an API token for user NAME and print it (shown only now) alone on stdout, e.g.
    TOK=$(yiti token create erp-sync --scope read:* --scope write:sales_order --days 90)."""
    import datetime as dt

    from yiti.permissions.tokens import create_token
    from yiti.permissions.users import get_user

    with _open_site() as site:
        value, ident = create_token(site, get_user(site, name)["id"], scopes, label=label,
                                    expires_in=dt.timedelta(days=days) if days else None)
    # only the token on stdout, so `TOK=$(yiti token create ann)` holds it; the words on
    # stderr, where a person still reads them
    click.echo(f"Token {ident} of {name!r} ({', '.join(scopes)}); it is shown only now:",
               err=True)
    click.echo(value)


@token.command("revoke")
@click.argument("ident", type=int)
def token_revoke(ident: int) -> None:
    """Revoke token IDENT (its number, as `yiti token create` printed it)."""
    from yiti.permissions.tokens import revoke_token

    with _open_site() as site:
        done = revoke_token(site, ident)
    if not done:
        click.echo(f"error: no token {ident}", err=True)
        sys.exit(1)
    click.echo(f"Token {ident} revoked.")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=lambda: int(os.environ.get("PORT", "5000")),
              show_default="5000 or $PORT")
@click.option("--jobs/--no-jobs", "run_jobs", default=None,
              help="Run job workers in this process (default: yes without REDIS_URL, "
                   "no with it: then run `yiti worker`).")
def serve(host: str, port: int, run_jobs: bool | None) -> None:
    """Serve the web UI and API (the development server; in production, granian:
    docs/architecture.md)."""
    from yiti.web.app import create_app

    settings = _settings()
    app = create_app(settings)
    consumer = None
    if run_jobs or (run_jobs is None and not settings.redis_url):
        from yiti.jobs import jobs_of
        from yiti.jobs.embedded import start_consumer

        consumer = start_consumer(jobs_of(app.extensions["yiti"]))
    click.echo(f"Yiti is running at http://{host}:{port}/  (Ctrl+C stops it)")
    try:
        app.run(host=host, port=port, threaded=True, use_reloader=False)
    finally:
        if consumer is not None:
            consumer.stop()


def _add_job_commands() -> None:
    from yiti.jobs.cli import COMMANDS

    for command in COMMANDS:
        main.add_command(command)


_add_job_commands()


if __name__ == "__main__":  # pragma: no cover
    main()
