"""A sandbox-escape corpus: formulas and server scripts an analyst could write to get out.

Each payload must be refused with a clear error (its ``code``) and leave nothing behind.
Payloads that still get through are ``xfail(strict=True)`` with the reason, so they flip
when fixed. Grouped by route: dunders and introspection, formatting, imports and builtins,
the proxies' internals, mutation of shared values, resource bombs, the app's boundary.
"""

from __future__ import annotations

import textwrap
import time
from decimal import Decimal
from pathlib import Path

import pytest

from yiti.scripting import ExpressionError, ScriptError, evaluate, record_names

NAMES = record_names(
    {"qty": 2, "price": Decimal("1.5"), "s": "abc", "tags": ["a"], "meta": {"k": [1]}},
    {"lines": [{"qty": 1, "amount": Decimal("2")}]},
)
REFUSED = {"forbidden", "syntax", "size_limit", "memory_limit", "runtime"}


def refused(source: str, codes: set[str] | str = "forbidden") -> ExpressionError:
    wanted = {codes} if isinstance(codes, str) else codes
    with pytest.raises(ExpressionError) as error:
        evaluate(source, NAMES, filename="corpus.yaml", lineno=3, name="f")
    assert error.value.code in wanted, (source, error.value.code, error.value.reason)
    assert error.value.filename == "corpus.yaml"
    assert "Traceback" not in str(error.value) and "/platform/" not in str(error.value)
    return error.value


# -- formulas: attributes, introspection, formatting -----------------------------------------

FORMULA_ATTRIBUTE_ROUTES = [
    "s.__class__", "doc.__class__", "(1).__class__.__bases__", "lines[0]._values",
    "doc._values", "doc['_values']", "s.__class__.__mro__[1].__subclasses__()",
    "today.__globals__", "sum_of.__code__", "str.__self__", "decimal.__module__",
    "date(2026, 1, 1).__reduce__()", "(x for x in lines).gi_frame",
    "s.mro", "s.format", "s.format_map", "'{0.__class__}'.format(s)",
    "'{0.__class__}'.format_map(dict(a=s))", "f'{s:>99999999}'", "f'{s!r:{qty}}'",
    "'%s' % s", "'%(a)s' % dict(a=1)", "s.encode()", "s.translate", "s.maketrans",
    "lines[0].amount.as_integer_ratio", "price.__reduce_ex__", "today().fromtimestamp",
    "now().tzinfo", "now().astimezone", "meta.fromkeys", "meta['k'].append", "tags.append",
    "doc.__setattr__", "(1).to_bytes", "(1).from_bytes", "range(3).__iter__",
    "{1}.__and__", "price.__class__", "dict(a=1).__class__",
]


@pytest.mark.parametrize("source", FORMULA_ATTRIBUTE_ROUTES)
def test_formula_attribute_routes_refused(source: str) -> None:
    refused(source, {"forbidden", "syntax"})


FORMULA_FORBIDDEN_NAMES = [
    "type(s)", "type('X', (), {})", "getattr(s, 'upper')", "vars()", "dir()", "globals()",
    "locals()", "__builtins__", "__import__('os')", "eval('1')", "exec('1')",
    "compile('1', '', 'eval')", "open('/etc/passwd')", "object()", "super()",
    "breakpoint()", "help()", "exit()", "memoryview(b'')", "bytes(10)", "bytearray(10)",
    "id(s)", "hash(s)", "iter(lines)", "next(iter(lines))", "isinstance(s, str)",
    "format(s, '>9')", "print(1)", "setattr(doc, 'x', 1)", "classmethod", "property",
    "lambda: 0", "(lambda: 0)()", "[x for x in lines]", "{x for x in lines}",
    "sum(l.qty for l in lines)", "(y := 1)", "{**meta}", "max(*lines)", "dict(**meta)",
    "b'abc'", "1j", "'x' * 1 if 0 else await_x", "ｅｖａｌ('1')", "ᵉval('1')",
    "ＯＰＥＮ('/etc/passwd')", "ｇｅｔａｔｔｒ(s, 'upper')", "__class__",
    "_getattr_(s, '__class__')", "_write_", "_binop_('+', 1, 1)",
]


@pytest.mark.parametrize("source", FORMULA_FORBIDDEN_NAMES)
def test_formula_forbidden_names_and_constructs(source: str) -> None:
    refused(source, {"forbidden", "syntax", "runtime"})


def test_nfkc_identifiers_are_checked_after_normalising() -> None:
    # Python reads ｅｖａｌ and ᵉval as eval, fullwidth underscores are no identifier.
    refused("ｅｖａｌ('1')", "forbidden")
    refused("s.＿＿class＿＿", "syntax")


COMPUTED_NAMES = [
    "'_' + '_class__'", "'__cla' + 'ss__'", "chr(95) * 2 + 'class' + chr(95) * 2",
]


@pytest.mark.parametrize("name", COMPUTED_NAMES)
def test_computed_private_keys_refused(name: str) -> None:
    refused(f"doc[{name}]", "forbidden")
    refused(f"lines[0][{name}]", "forbidden")


# -- formulas: resource bombs -----------------------------------------------------------------

FORMULA_BOMBS = [
    ("'a' * 10**9", "size_limit"), ("[0] * 10**9", "size_limit"),
    ("10**10**10", "size_limit"), ("2**4096", "size_limit"), ("~(2**4096 - 1)", "size_limit"),
    ("(2**4095) + (2**4095)", "size_limit"), ("(2**4095) * 2", "size_limit"),
    ("1 << 10**9", "size_limit"), ("pow(3, 2**300, 7)", "size_limit"),
    ("sum([2**4095, 2**4095])", "size_limit"), ("int('9' * 1300)", "size_limit"),
    ("int('1' * 5000, 2)", "size_limit"), ("float('1' * 200)", "size_limit"),
    ("decimal('1' * 200)", "size_limit"), ("int(decimal('1e999999999'))", "size_limit"),
    ("floor(decimal('1e999999999'))", "size_limit"), ("round(decimal('1e99999'))", "size_limit"),
    ("'x'.ljust(10**9)", "size_limit"), ("'x'.center(10**9)", "size_limit"),
    ("'x'.zfill(10**9)", "size_limit"), ("('\\t' * 9000).expandtabs(10**6)", "size_limit"),
    ("('a' * 9000).replace('a', 'a' * 9000)", "size_limit"),
    ("'x'.join(['a'] * 99999)", "size_limit"), ("('ß' * 60000).upper()", "size_limit"),
    ("str(list(range(99999)))", "size_limit"), ("repr('\\\\' * 60000)", "size_limit"),
    ("range(10**30)", "size_limit"), ("list(range(10**6))", "size_limit"),
    ("[[0] * 1000] * 1000", "size_limit"),
    ("(list(range(99999)), list(range(99999)))", "memory_limit"),
    ("set(range(0, 20000 * (2**61 - 1), 2**61 - 1))", "size_limit"),
    ("set().update(range(0, 20000 * (2**61 - 1), 2**61 - 1))", "size_limit"),
    ("dict().update(dict(a=1), list(range(3)))", "runtime"),
    ("decimal('1e999999999') * 2", "runtime"), ("decimal(2) ** (10**70)", "runtime"),
    ("decimal('1e99999999').quantize(decimal(1))", "runtime"),
    ("decimal(2**4095) ** decimal('0.5')", "size_limit"),
    ("add_days(today(), 10**20)", "runtime"), ("today().replace(year=10**20)", "runtime"),
    ("add_months(today(), 10**9)", "runtime"), ("date(10000, 1, 1)", "runtime"),
    ("to_date('9' * 100)", "runtime"), ("today().strftime('%Y' * 200)", "forbidden"),
    ("'%Y' % 1", "forbidden"), ("chr(10**9)", "runtime"),
]


@pytest.mark.parametrize(("source", "code"), FORMULA_BOMBS)
def test_formula_bombs_refused_quickly(source: str, code: str) -> None:
    started = time.perf_counter()
    refused(source, code)
    assert time.perf_counter() - started < 1.0, source


def test_deeply_nested_and_huge_formula_source_refused() -> None:
    assert evaluate("(" * 150 + "1" + ")" * 150) == 1  # parentheses build no tree
    refused("-" * 3000 + "1", "syntax")
    refused("a." * 1000 + "b", "syntax")
    refused("doc" + "[0]" * 900, "syntax")
    refused("[" * 1000 + "]" * 1000, {"syntax", "forbidden"})
    refused("1 + " * 2000 + "1", "size_limit")
    refused("'" + "a" * 10_001 + "'", "size_limit")
    refused("9" * 100, "forbidden")


def test_formula_strftime_width_flags_build_nothing_big() -> None:
    assert len(evaluate("today().strftime('%999999999Y')")) < 1000


def test_formula_cpu_bomb_is_bounded() -> None:
    # Builtins calling a helper per item (min(range(99999), key=format_number)) spend ~0.7 s
    # each, uncharged by the memory budget; a 4,000-character formula holds ~90 of them.
    # The formula CPU limit (YITI_FORMULA_CPU_SECONDS) must stop it.
    started = time.perf_counter()
    refused(" + ".join(["min(range(99999), key=format_number)"] * 2), "cpu_limit")
    assert time.perf_counter() - started < 0.5


def test_formula_hash_flood_through_update_is_refused_before_hashing() -> None:
    # One C-level step: a CPU timer can only fire after it; refused before it instead.
    started = time.perf_counter()
    refused("set().update(range(0, 99999 * (2**61 - 1), 2**61 - 1))", "size_limit")
    assert time.perf_counter() - started < 0.5


# -- formulas: shared and frozen values -------------------------------------------------------

def test_formulas_cannot_change_what_they_are_given() -> None:
    names = record_names({"tags": ["a"], "meta": {"k": [1]}}, {"lines": [{"qty": 1}]})
    for source in ("tags.append(1)", "meta.update(a=1)", "meta.pop('k')", "meta['k'].append(2)",
                   "lines[0].qty.real", "doc.lines.append(1)", "meta.clear()"):
        try:
            evaluate(source, names)
        except ExpressionError:
            pass
    assert names["tags"] == ("a",) or names["tags"] == ["a"]
    assert dict(names["meta"]) == {"k": (1,)} or dict(names["meta"]) == {"k": [1]}
    assert names["lines"][0].qty == 1


# -- scripts ----------------------------------------------------------------------------------

SCRIPT_REFUSED = [
    ("import os", "forbidden"), ("from os import path", "forbidden"),
    ("import importlib as i", "forbidden"), ("__import__('os')", "forbidden"),
    ("class A: pass", "forbidden"), ("def g():\n    yield 1", "forbidden"),
    ("async def g():\n    pass", "forbidden"), ("global x", "forbidden"),
    ("with x: pass", "forbidden"), ("try:\n    pass\nexcept:\n    pass", "forbidden"),
    ("try:\n    pass\nexcept* Exception:\n    pass", "forbidden"),
    ("exec('1')", "forbidden"), ("eval('1')", "forbidden"), ("compile('1', '', 'exec')", "forbidden"),
    ("type('A', (), {})", "forbidden"), ("super()", "forbidden"), ("vars()", "forbidden"),
    ("dir()", "forbidden"), ("globals()", "forbidden"), ("locals()", "forbidden"),
    ("open('/etc/passwd').read()", "forbidden"), ("setattr(doc, 'qty', 1)", "forbidden"),
    ("x = '{0.__class__}'.format(1)", "forbidden"),
    ("f = getattr('{0.__class__}', 'for' + 'mat')\nresult = f(1)", "forbidden"),
    ("f = getattr('{a}', 'format_map')", "forbidden"),
    ("result = getattr(1, '_' + '_class__')", "forbidden"),
    ("result = getattr(doc, '_values')", "forbidden"), ("result = doc['_changed']", "forbidden"),
    ("doc['_values'] = {}", "forbidden"), ("doc._values = {}", "forbidden"),
    ("result = getattr(get_record, 'x')", "forbidden"),
    ("def f(): pass\nresult = getattr(f, 'func_globals')", "forbidden"),
    ("def f(): pass\nresult = getattr(f, '__globals__')", "forbidden"),
    ("g = (x for x in [1])\nresult = getattr(g, 'gi_frame')", "forbidden"),
    ("g = (x for x in [1])\nresult = getattr(g, 'gi_code')", "forbidden"),
    ("g = (x for x in [1])\nresult = getattr(g, 'send')", "forbidden"),
    ("try:\n    1/0\nexcept Exception as e:\n    result = getattr(e, '__traceback__')", "forbidden"),
    ("try:\n    1/0\nexcept Exception as e:\n    result = getattr(e, 'with_traceback')", "forbidden"),
    ("try:\n    1/0\nexcept Exception as e:\n    result = e.__context__", "forbidden"),
    ("try:\n    1/0\nexcept Exception as e:\n    tb = getattr(e, 'tb_frame')", "forbidden"),
    ("result = getattr(map, 'mro')", "forbidden"), ("result = getattr(Exception, 'args')", "forbidden"),
    ("result = getattr(zip([1]), 'gi_frame')", "forbidden"),
    ("def f(x=lambda: 0): return x\nresult = getattr(f(), '__defaults__')", "forbidden"),
    ("result = getattr(enumerate, '__subclasses__')", "forbidden"),
    ("def deco(f): return f\n@deco\ndef g(): pass\nresult = getattr(g, 'x')", "forbidden"),
    ("e = Exception()\ne.args = (1,)", "forbidden"),
    ("params['k'] = 1", "forbidden"), ("params.k = 1", "forbidden"),
    ("params['list'].append(1)", "forbidden"),
    ("c = get_record('customer', 'C-1')\nc.tier = 'x'", "forbidden"),
    ("x = '%s' % 1", "forbidden"), ("x = f'{1:>999999999}'", "forbidden"),
    ("raise SystemExit(1)", "runtime"), ("raise KeyboardInterrupt", "runtime"),
    ("x = 'a' * 10**9", "size_limit"), ("x = [0] * 10**9", "size_limit"),
    ("x = 10**10**10", "size_limit"), ("x = int('9' * 5000)", "size_limit"),
    ("x = ' '.join(['a'] * 10**6)", "size_limit"),
    ("x = 'x'.ljust(10**9)", "size_limit"), ("x = decimal('1e999999999') ** 2", "runtime"),
    ("x = decimal(2**4095) ** decimal('0.5')", "size_limit"),
    ("while True:\n    pass", "loop_limit"), ("for i in range(10**7): pass", "size_limit"),
    ("def f(): return f()\nf()", "recursion_limit"),
    ("a = []\nfor i in range(100000): a = [a]\nresult = a", "runtime"),
    ("a = [1]\na.append(a)\nresult = a", "runtime"),
    ("result = {1: 2}", "runtime"), ("result = float('inf')", "runtime"),
    ("log('a' * 64001)", "output_limit"), ("print('a' * 64000, 'b')", "output_limit"),
    ("notify('u', 'x' * 256)", "size_limit"), ("notify('u', 's', 'b' * 64001)", "size_limit"),
    ("list_records('customer', {}, limit=10**6)", "runtime"),
]


@pytest.mark.parametrize(("source", "code"), SCRIPT_REFUSED)
def test_script_payloads_refused(runner, host, source: str, code: str) -> None:  # noqa: ANN001
    with pytest.raises(ScriptError) as error:
        runner.run(source, filename="corpus.yaml", lineno=5, name="s",
                   doc={"qty": 1}, inputs={"params": {"k": 1, "list": [1]}}, host=host)
    assert error.value.code == code, (source, error.value.code, error.value.reason)
    assert "Traceback" not in str(error.value) and "/platform/" not in str(error.value)
    assert not [c for c in host.calls if c[0] in ("create", "update", "notify")]
    assert host.records[("customer", "C-1")]["tier"] == "gold"


def test_limit_errors_cannot_be_caught_and_finally_cannot_outlive_the_cpu_limit(runner, host):  # noqa: ANN001
    # LimitExceeded is a BaseException; finally blocks still run, so an exponential tree of
    # try/finally keeps going after the CPU timer fires once: RLIMIT_CPU or the wall-clock
    # deadline must end it, and the next run must work.
    source = textwrap.dedent("""
        def f(n):
            if n:
                try:
                    f(n - 1)
                finally:
                    f(n - 1)
        try:
            f(40)
        except Exception:
            create_record("task", {"subject": "swallowed"})
        """)
    started = time.monotonic()
    with pytest.raises(ScriptError) as error:
        runner.run(source, host=host)
    assert error.value.code in ("cpu_limit", "timeout")
    assert time.monotonic() - started < runner.wall_seconds + 3
    assert host.calls == []
    assert runner.run("result = 1").value == 1


def test_except_exception_does_not_swallow_loop_limit(runner, host) -> None:  # noqa: ANN001
    source = "try:\n    while True: pass\nexcept Exception:\n    create_record('task', {})"
    with pytest.raises(ScriptError) as error:
        runner.run(source, host=host)
    assert error.value.code == "loop_limit" and host.calls == []


def test_scripts_see_no_secrets_in_their_environment_or_names(runner) -> None:  # noqa: ANN001
    for source in ("result = str(zip) + str(Exception)", "result = repr(get_record)"):
        value = runner.run(source).value
        assert "SECRET" not in value and "password" not in value.lower()


def test_host_refusal_aborts_even_if_caught(runner, host) -> None:  # noqa: ANN001
    from yiti.errors import Forbidden

    source = ("try:\n    create_record('secret', {})\nexcept Exception:\n    pass\n"
              "finally:\n    create_record('task', {'subject': 'after'})\nresult = 'kept going'")
    with pytest.raises(Forbidden):
        runner.run(source, host=host)
    assert [c[1] for c in host.calls if c[0] == "create"] in (["secret"], ["secret", "task"])


# -- the app's boundary: what scripts hand back, over HTTP ------------------------------------

SCRIPTS = {
    "huge_decimal": ("api", "result = [decimal('1e999999999'), decimal('NaN')]"),
    "bad_filters": ("api", "result = list_records('item', [['stock', '>', 1]])"),
    "bad_order": ("api", "result = list_records('item', {}, order_by=[1, None])"),
    "no_hidden_entities": ("api", "result = list_records('yiti_user', {}, limit=5)"),
    "crash": ("api", "x = {}['missing']"),
    "nan_field": ("before_save", "doc.deposit = decimal('NaN')"),
    "huge_field": ("before_save", "doc.deposit = decimal('1e999999999')"),
    "list_field": ("before_save", "doc.stock = [1, 2]"),
    "system_field": ("before_save", "doc.id = 12345"),
    "no_field": ("before_save", "doc.no_such_field = 1"),
    "throw_then_write": ("before_save", "try:\n    throw('no', 'title')\nfinally:\n"
                         "    create_record('item', {'code': 'SNEAK', 'title': 'x'})"),
}


@pytest.fixture(scope="module")
def app_site(tmp_path_factory):  # noqa: ANN001, ANN201
    from tests.automation.test_scripts import write_pack
    from yiti.config import PROJECT_ROOT
    from yiti.site import Site
    from yiti.testing import load, settings_for, temporary_database

    tmp = tmp_path_factory.mktemp("corpus")
    files = {}
    for name, (event, code) in SCRIPTS.items():
        if event != "api":  # each record-event script acts on its own item only
            code = f"if doc.code == {name.upper().replace('_', '-')!r}:\n" + textwrap.indent(
                code, "    ")
        head = f"script: {name}\n" + ("" if event == "api" else "entity: item\n")
        files[f"{name}.yaml"] = head + f"event: {event}\ncode: |\n" + textwrap.indent(
            code, "  ") + "\n"
    with temporary_database(tmp) as url:
        packs = write_pack(tmp, files)
        modules = [PROJECT_ROOT / "modules", packs]
        site = Site(settings_for(url, tmp, modules=modules),
                    model=load(modules, packs=["example", "auto"]))
        site.migrate()
        yield site
        site.close()


@pytest.fixture(scope="module")
def client(app_site):  # noqa: ANN001, ANN201
    from yiti.permissions import tokens, users
    from yiti.web.app import create_app

    app = create_app(site=app_site)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    ident = users.create_user(app_site, "root", "root-password-long", roles=("Administrator",))
    token = tokens.create_token(app_site, ident, ["*"])[0]
    c = app.test_client()
    c.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return c


def _no_leak(text: str) -> None:
    for secret in ("Traceback", "test-secret", "sqlalchemy", "SELECT ", "INSERT "):
        assert secret not in text


def test_a_scripts_huge_decimal_result_is_not_written_out(client) -> None:  # noqa: ANN001
    r = client.post("/api/v1/_scripts/huge_decimal", json={})
    assert r.status_code == 200 and len(r.get_data()) < 1000
    assert r.json["result"] == ["1E+999999999", "NaN"]


@pytest.mark.parametrize("name", ["bad_filters", "bad_order"])
def test_malformed_record_calls_are_422_not_500(client, name: str) -> None:  # noqa: ANN001
    r = client.post(f"/api/v1/_scripts/{name}", json={})
    assert r.status_code == 422, r.get_data(as_text=True)
    _no_leak(r.get_data(as_text=True))


def test_scripts_reach_no_system_tables(client) -> None:  # noqa: ANN001
    r = client.post("/api/v1/_scripts/no_hidden_entities", json={})
    assert r.status_code == 404 and "password" not in r.get_data(as_text=True)


def test_a_script_runtime_error_is_422_without_a_traceback(client) -> None:  # noqa: ANN001
    r = client.post("/api/v1/_scripts/crash", json={})
    assert r.status_code == 422 and "KeyError: missing" in r.json["detail"]
    _no_leak(r.get_data(as_text=True))


@pytest.mark.parametrize(("script", "field"), [
    ("nan_field", "deposit"), ("huge_field", "deposit"), ("list_field", "stock"),
    ("system_field", "id"), ("no_field", "no_such_field"),
])
def test_before_save_values_are_checked_like_input(client, app_site, script: str,  # noqa: ANN001
                                                   field: str) -> None:
    code = script.upper().replace("_", "-")
    r = client.post("/api/v1/item", json={"code": code, "title": "t"})
    assert r.status_code == 422, r.get_data(as_text=True)
    assert [e["field"] for e in r.json["errors"]] == [field]
    _no_leak(r.get_data(as_text=True))
    assert app_site.records().count("item", filters={"code": code}).value == 0


def test_throw_then_write_in_finally_leaves_nothing(client, app_site) -> None:  # noqa: ANN001
    r = client.post("/api/v1/item", json={"code": "THROW-THEN-WRITE", "title": "t"})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "title"
    assert app_site.records().count("item", filters={"code": "SNEAK"}).value == 0
    assert app_site.records().count("item", filters={"code": "THROW-THEN-WRITE"}).value == 0


def test_corpus_file_is_plain_text() -> None:
    assert Path(__file__).read_text(encoding="utf-8")
