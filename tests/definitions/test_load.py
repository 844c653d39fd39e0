"""Loading the example packs, overlays, dependency order and the kinds registry."""

from __future__ import annotations

from decimal import Decimal

import pytest

from yiti.definitions import FIELD_TYPES, Kind, load_model, register_kind
from yiti.definitions.kinds import KINDS
from yiti.errors import DefinitionErrors

from .conftest import EXAMPLE_PACKS, Site, located, only


@pytest.fixture(scope="module")
def model():
    return load_model(EXAMPLE_PACKS)


def test_packs_load_in_dependency_order(model):
    assert list(model.modules) == ["example", "example_ext"]
    assert model.modules["example_ext"].depends == ("example",)
    assert model.modules["example"].version == "0.1.0"
    assert model.modules["example"].label["zh-CN"] == "示例借阅库"
    assert list(model.entities) == ["contact", "contact_group", "expense_claim", "item", "loan",
                                    "loan_line"]
    assert list(model.forms) == ["contact", "loan"]
    assert list(model.views) == ["contact", "loan"]


def test_every_field_type_is_covered_by_the_example(model):
    used = {f.type for e in model.entities.values() for f in e.fields.values()}
    assert used == set(FIELD_TYPES)


def test_fields_keep_their_order_and_get_defaults(model):
    contact = model.entity("contact")
    assert list(contact.fields)[:4] == ["full_name", "group", "email", "phone"]
    assert contact.fields["full_name"].max_length == 140
    assert contact.fields["email"].max_length == 254
    assert contact.fields["website"].max_length == 2048
    assert contact.fields["credit_limit"].precision == 18
    assert contact.fields["credit_limit"].scale == 2
    assert contact.fields["credit_limit"].currency == "CNY"
    assert contact.fields["credit_limit"].min == Decimal(0)
    assert contact.fields["group"].target == "contact_group"
    assert contact.fields["group"].on_delete == "set null"
    assert contact.fields["active"].default is True
    assert contact.fields["notes"].help["en"].startswith("Anything")
    group = model.entity("contact_group")
    assert (group.fields["discount"].precision, group.fields["discount"].scale) == (7, 4)
    item = model.entity("item")
    assert (item.fields["weight"].precision, item.fields["weight"].scale) == (12, 3)
    assert item.fields["stock"].default == 0 and item.fields["stock"].min == 0


def test_labels_are_maps_and_default_to_the_name(model):
    assert dict(model.entity("loan").label) == {"en": "Loan", "zh-CN": "借阅单"}
    assert model.entity("contact").fields["full_name"].label["zh-CN"] == "姓名"
    source = model.entity("contact").fields["source"]
    assert [o.value for o in source.options] == ["manual", "import", "web", "wechat"]
    assert dict(source.options[2].label) == {"en": "web"}  # a plain string: value = label


def test_entity_settings(model):
    loan = model.entity("loan")
    assert loan.submittable and loan.naming.series == "LN-{YYYY}-{#####}" and loan.naming.gapless
    assert loan.list_defaults.sort == ("-loan_date",)
    assert loan.rules[0].field == "due_date"
    assert loan.rules[0].message["zh-CN"].startswith("应还日期")
    assert loan.table_fields[0].target == "loan_line"
    line = model.entity("loan_line")
    assert line.child and line.parent == "loan"
    assert line.fields["line_deposit"].formula == "qty * deposit"
    assert model.entity("contact").unique_together == (("source", "external_id"),)
    assert model.entity("contact_group").naming.field == "code"
    assert model.entity("contact").location.path.endswith("entities/contact.yaml")


def test_extension_is_merged(model):
    contact = model.entity("contact")
    assert list(contact.fields)[-1] == "wechat_id"  # new fields go at the end
    assert contact.module == "example"
    assert dict(contact.fields["phone"].label) == {"en": "Mobile", "zh-CN": "手机"}
    assert contact.fields["phone"].max_length == 40  # widened from 32
    assert contact.search_fields[-1] == "wechat_id"


def test_forms_and_views_are_kept_as_data(model):
    form = model.forms["loan"]
    assert form.entity == "loan" and form.module == "example"
    assert form.body["sections"][1]["fields"][0]["columns"][0] == "item"
    assert model.views["loan"].body["page_size"] == 20


def test_overlay_extends_overrides_and_adds(site: Site):
    site.write("overlay/extends/loan.yaml", """
        extends: loan
        label: {en: Borrowing, zh-CN: 借用}
        fields:
          pickup_point: {type: string}
          status: {default: open, required: true}
        rules:
          - {condition: "len(lines) <= 10", message: At most 10 items, field: lines}
    """)
    site.write("overlay/forms/contact.yaml", """
        form: contact
        entity: contact
        sections:
          - fields: [full_name, wechat_id]
    """)
    site.write("overlay/entities/branch.yaml", """
        entity: branch
        fields:
          city: {type: string}
    """)
    model = load_model(EXAMPLE_PACKS, overlay=site.root / "overlay")
    assert list(model.modules)[-1] == "site"
    loan = model.entity("loan")
    assert loan.label["en"] == "Borrowing"
    assert list(loan.fields)[-1] == "pickup_point"
    assert loan.fields["pickup_point"].label == {"en": "Pickup point"}
    assert loan.fields["status"].required
    assert len(loan.rules) == 2
    assert model.forms["contact"].module == "site"
    assert model.forms["contact"].body["sections"][0]["fields"] == ["full_name", "wechat_id"]
    assert model.entity("branch").module == "site"


def test_dependency_order_is_topological_then_by_name(site: Site):
    site.pack("zeta")
    site.pack("alpha", depends=("zeta",))
    site.pack("beta")
    site.pack("gamma", depends=("alpha", "beta"))
    model = load_model([site.modules])
    assert list(model.modules) == ["beta", "zeta", "alpha", "gamma"]


def test_pack_selection_brings_dependencies(site: Site):
    site.pack("base")
    site.pack("sales", depends=("base",))
    site.pack("other")
    model = load_model([site.modules], packs=["sales"])
    assert list(model.modules) == ["base", "sales"]


def test_hooks_are_recorded_not_imported(site: Site):
    site.pack("shop")
    site.write("modules/shop/hooks.py", "raise RuntimeError('never imported here')\n")
    model = load_model([site.modules])
    assert model.modules["shop"].hooks == site.modules / "shop" / "hooks.py"


def test_ignored_and_unknown_folders(site: Site):
    site.pack("shop", {
        "fixtures/roles.yaml": "- not: a definition\n",
        "i18n/zh-CN.yaml": "Order: 订单\n",
        "banners/autumn.yaml": "banner: autumn\nat: '02:00'\n",
    })
    model = load_model([site.modules])
    autumn = model.extra["banners"]["autumn"]
    assert (autumn.kind, autumn.module, autumn.body["at"]) == ("banner", "shop", "02:00")


def test_registered_kinds_are_checked_and_kept(site: Site):
    previous = KINDS.get("permissions")
    kind = register_kind(Kind("permission", "permissions", None))
    try:
        site.pack("shop", {
            "entities/order.yaml": "entity: order\nfields:\n  total: {type: money}\n",
            "permissions/clerk.yaml": "permission: clerk\nentity: ordr\n",
        })
        error = only(site.check())
        located(error, "modules/shop/permissions/clerk.yaml", 2, "entity")
        assert error.message.endswith(": unknown entity 'ordr' (did you mean 'order'?)")
        assert error.hint == "did you mean 'order'?"
        site.write("modules/shop/permissions/clerk.yaml", "permission: clerk\nentity: order\n")
        model = load_model([site.modules])
        assert model.extra["permissions"]["clerk"].entity == "order"
    finally:
        del KINDS[kind.folder]
        if previous is not None:  # the engine's own registration stays for other tests
            register_kind(previous)


def test_yaml_12_scalars(site: Site):
    site.pack("shop", {"entities/flag.yaml": """
        entity: flag
        fields:
          answer: {type: select, options: [yes, no, on, off], default: no}
          since: {type: date, default: 2024-01-31}
    """})
    flag = load_model([site.modules]).entity("flag")
    assert [o.value for o in flag.fields["answer"].options] == ["yes", "no", "on", "off"]
    assert flag.fields["since"].default.isoformat() == "2024-01-31"


def test_load_model_raises_all_problems(site: Site):
    site.pack("shop", {
        "entities/a.yaml": "entity: a\nfields:\n  x: {type: strng}\n",
        "entities/b.yaml": "entity: b\nfields:\n  y: {type: link, entity: nowhere}\n",
    })
    with pytest.raises(DefinitionErrors) as raised:
        load_model([site.modules])
    assert [e.path for e in raised.value.errors] == [
        "modules/shop/entities/a.yaml", "modules/shop/entities/b.yaml"
    ]
