"""Packs' own HTML pages at ``/p/<pack>/<path>`` (see docs/hooks.md, "Pages of a pack").

A pack marks a function in its hooks with :func:`yiti.api.page`; ``init_app`` (listed in
:data:`yiti.web.app.BLUEPRINTS`) mounts each one, found the way endpoints are
(:func:`yiti.extensions.marked`). The function returns :func:`yiti.api.render`; the
template comes from the pack's ``templates/`` folder and is rendered in the site's theme
environment (autoescape, ``csp_nonce()``, ``csrf_token()``, the theme's templates to
extend), with ``_()`` reading the pack's ``i18n/<lang>.po`` before the engine's catalogue.
The pack's ``static/`` folder is served at ``/p/<pack>/static/<file>``.

Public pages read as :data:`yiti.api.GUEST`. A public page with ``cache_seconds`` is kept
(in the process, or in Redis with ``REDIS_URL``; see :mod:`yiti.web.page_cache`, which
serves it again before Flask runs) and marked ``Cache-Control: public`` for visitors who
are not signed in, keyed by language, path and query; it may not carry a CSRF token,
which would be shared. Pages of signed-in users are ``private, no-store``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from babel.messages.pofile import read_po
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    redirect,
    request,
    send_from_directory,
    session,
)
from jinja2 import ChoiceLoader, Environment, FileSystemLoader

from yiti.api import PAGE_MARK, PageContext, PageSpec, Rendered
from yiti.errors import YitiError
from yiti.extensions import marked
from yiti.permissions.rules import ADMINISTRATOR
from yiti.site import Site
from yiti.web.app import current_site
from yiti.web.auth import current_actor
from yiti.web.page_cache import cached_response, install, mark_shared, share, shared_key
from yiti.web.ui.i18n import COOKIE, LANGUAGES, babel_locale, catalogue, current_language, say

PREFIX = "/p"


def pages_of(site: Site) -> list[tuple[str, PageSpec]]:
    """``(pack, spec)`` of every page the site's packs declare; a path twice is refused."""
    out: list[tuple[str, PageSpec]] = []
    seen: dict[str, str] = {}
    for pack, fn, spec in marked(site, PAGE_MARK):
        key = f"{pack}/{spec.path}"
        if key in seen:
            raise ValueError(f"page {PREFIX}/{key} is declared twice: by {seen[key]} and "
                             f"{fn.__qualname__}")
        seen[key] = fn.__qualname__
        out.append((pack, spec))
    return out


def init_app(app: Flask) -> None:
    """Mount every pack page of the app's site, the packs' static files and the
    language switch (``/p/_language/<lang>?next=``)."""
    site: Site = app.extensions["yiti"]
    pages = pages_of(site)
    install(app, {f"{PREFIX}/{pack}/" for pack, spec in pages if spec.cache_seconds})
    bp = Blueprint("pack_pages", __name__, url_prefix=PREFIX)
    bp.register_error_handler(YitiError, _error)
    for pack, spec in pages:
        rule = "/".join(p if not p.startswith("<") else f"<{p[1:-1]}>"
                        for p in spec.path.split("/")) if spec.path else ""
        name = f"{pack}__{spec.path or 'home'}".translate(str.maketrans("/-<>", "__  "))
        bp.add_url_rule(f"/{pack}/{rule}", endpoint=name.replace(" ", ""),
                        view_func=_view(pack, spec), methods=["GET"])
    bp.add_url_rule("/<pack>/static/<path:filename>", endpoint="static_file",
                    view_func=_static)
    bp.add_url_rule("/_language/<lang>", endpoint="language", view_func=_language)
    app.register_blueprint(bp)


def _view(pack: str, spec: PageSpec) -> Callable[..., Response]:
    def view(**params: str) -> Response:
        site = current_site()
        actor = None
        if spec.auth == "user":
            actor = current_actor(required=False)
            if actor is None:
                from yiti.web.auth.views import redirect_to_login

                return redirect_to_login()
            if spec.roles and not actor.system and ADMINISTRATOR not in actor.roles \
                    and not set(spec.roles) & set(actor.roles):
                abort(404)  # to anyone else the page does not exist
        lang = current_language()
        key = shared_key(spec.cache_seconds)
        hit = cached_response(key)
        if hit is not None:
            return hit
        ctx = PageContext(site=site, pack=pack, path=spec.path, actor=actor, params=params,
                          args=request.args.to_dict(), headers=dict(request.headers),
                          lang=lang)
        result = spec.fn(ctx)
        if not isinstance(result, Rendered):
            raise TypeError(f"page {pack}/{spec.path}: {spec.fn.__qualname__} must return "
                            f"api.render(...), not {type(result).__name__}")
        body = render_page(site, pack, result, shared=bool(key))
        response = Response(body, result.status, mimetype="text/html")
        if key:
            share(key, spec.cache_seconds)
        return _headers(response, spec, bool(key))

    view.__name__ = f"page_{pack}_{spec.path or 'home'}"
    return view


def _headers(response: Response, spec: PageSpec, cached: bool) -> Response:
    if cached:
        return mark_shared(response, spec.cache_seconds)
    if spec.auth == "user":
        response.headers["Cache-Control"] = "private, no-store"
    else:
        response.headers["Cache-Control"] = "private, no-cache"
    response.vary.update(("Accept-Language", "Cookie"))
    return response


def render_page(site: Site, pack: str, result: Rendered, *, shared: bool = False) -> str:
    """The HTML of ``result``: the pack's template in the theme environment."""
    env = _environment(current_app._get_current_object(), pack,  # type: ignore[attr-defined]
                       site.model.modules[pack].path)
    context: dict[str, Any] = dict(result.context)
    current_app.update_template_context(context)
    lang = current_language()

    def gettext(message: str, **values: Any) -> str:
        text = pack_catalogue(site.model.modules[pack].path, lang).get(message) \
            or catalogue(lang).get(message, message)
        return text % values if values else text

    def page_url(path: str = "", **args: Any) -> str:
        query = urlencode({k: v for k, v in args.items() if v not in (None, "")})
        return f"{PREFIX}/{pack}/{path}" + (f"?{query}" if query else "")

    context.update(_=gettext, gettext=gettext, page_url=page_url, pack=pack, lang=lang,
                   static_url=lambda f: f"{PREFIX}/{pack}/static/{f}",
                   language_url=lambda code: f"{PREFIX}/_language/{code}?" + urlencode(
                       {"next": request.full_path.rstrip("?")}))
    if shared:
        context["csrf_token"] = _no_csrf_in_shared_pages
    return env.get_template(result.template).render(context)


def _no_csrf_in_shared_pages() -> str:
    raise RuntimeError("this page is cached and shared by every visitor: it can't carry a "
                       "CSRF token. Let its script fetch one (GET /api/v1/_me) when needed")


_ENVS: dict[tuple[int, str], Environment] = {}


def _environment(app: Flask, pack: str, path: Path) -> Environment:
    """The app's (theme) environment with the pack's templates in front."""
    key = (id(app), pack)
    env = _ENVS.get(key)
    if env is None or env.globals is not app.jinja_env.globals:
        loaders = [FileSystemLoader(str(path / "templates"))]
        if app.jinja_env.loader is not None:
            loaders.append(app.jinja_env.loader)  # type: ignore[arg-type]
        env = app.jinja_env.overlay(loader=ChoiceLoader(loaders))
        _ENVS[key] = env
    return env


@cache
def _catalogue_file(path: Path, mtime: float) -> dict[str, str]:
    with path.open("rb") as fh:
        cat = read_po(fh, locale=babel_locale(path.stem))
    return {str(m.id): str(m.string) for m in cat
            if m.id and m.string and not m.fuzzy and isinstance(m.id, str)}


def pack_catalogue(pack_path: Path, lang: str) -> dict[str, str]:
    """msgid → msgstr from the pack's ``i18n/<lang>.po`` (``zh-CN.po``), if it has one."""
    path = pack_path / "i18n" / f"{lang}.po"
    try:
        return _catalogue_file(path, path.stat().st_mtime)
    except FileNotFoundError:
        return {}


def _static(pack: str, filename: str) -> Response:
    module = current_site().model.modules.get(pack)
    if module is None or not (module.path / "static" / filename).is_file():
        abort(404)
    response = send_from_directory(module.path / "static", filename, max_age=3600)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _language(lang: str) -> Response:
    """Choose the language with a link (a cookie only: the cached pages stay shared)."""
    back = request.args.get("next") or "/"
    if not back.startswith("/") or back.startswith("//") or "\\" in back:
        back = "/"
    response = redirect(back)
    if lang in LANGUAGES:
        if session.get("lang"):
            session["lang"] = lang
        response.set_cookie(COOKIE, lang, max_age=365 * 86400, samesite="Lax",
                            secure=request.is_secure, httponly=True)
    return response


def _error(error: YitiError) -> Response:
    """A refusal on a pack page: the pack's ``error.html`` if it has one, else plain."""
    status = getattr(error, "status", 500)
    pack = (request.view_args or {}).get("pack") or request.path.split("/")[2]
    module = current_site().model.modules.get(pack)
    if module is not None and (module.path / "templates" / "error.html").is_file():
        body = render_page(current_site(), pack, Rendered("error.html", {
            "status": status, "message": say(error.message)}, status))
    else:
        body = (f"<!doctype html><meta charset='utf-8'><title>{status}</title>"
                f"<p>{_escape(say(error.message))}</p>")
    response = Response(body, status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def _escape(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))
