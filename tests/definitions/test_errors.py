"""Mistakes in definition files: each one reported as ``path:line: key: message (hint)``."""

from __future__ import annotations

from yiti.definitions import check

from .conftest import EXAMPLE_PACKS, Site, located, only

CUSTOMER = """
    entity: customer
    fields:
      full_name: {type: string}
"""


def entity_error(site: Site, text: str, name: str = "order.yaml"):
    site.pack("shop", {"entities/customer.yaml": CUSTOMER, f"entities/{name}": text})
    return only(site.check())


def test_unknown_key_with_suggestion(site: Site):
    error = entity_error(site, """
        entity: order
        fields:
          code: {type: string, requried: true}
    """)
    located(error, "modules/shop/entities/order.yaml", 3, "fields.code.requried",
            "unknown key 'requried' (did you mean 'required'?)")


def test_unknown_top_level_key(site: Site):
    error = entity_error(site, """
        entity: order
        submitable: true
        fields:
          code: {type: string}
    """)
    located(error, "modules/shop/entities/order.yaml", 2, "submitable",
            "unknown key 'submitable' (did you mean 'submittable'?)")


def test_wrong_value_type(site: Site):
    error = entity_error(site, """
        entity: order
        fields:
          code:
            type: string
            required: "yes"
    """)
    located(error, "modules/shop/entities/order.yaml", 5, "fields.code.required",
            "expected true or false, got text 'yes'")


def test_unknown_field_type(site: Site):
    error = entity_error(site, """
        entity: order
        fields:
          total: {type: monye}
    """)
    located(error, "modules/shop/entities/order.yaml", 3, "fields.total.type",
            "unknown field type 'monye' (did you mean 'money'?)")


def test_unknown_link_target(site: Site):
    error = entity_error(site, """
        entity: order
        fields:
          note: {type: text}
          customer: {type: link, entity: custmer}
    """)
    located(error, "modules/shop/entities/order.yaml", 4, "fields.customer.entity",
            "unknown entity 'custmer' (did you mean 'customer'?)")


def test_link_without_entity(site: Site):
    error = entity_error(site, """
        entity: order
        fields:
          customer: {type: link}
    """)
    located(error, "modules/shop/entities/order.yaml", 3, "fields.customer.type",
            "a link field needs 'entity'")


def test_bad_series_token(site: Site):
    error = entity_error(site, """
        entity: order
        naming:
          series: "SO-{YYY}-{#####}"
        fields:
          code: {type: string}
    """)
    located(error, "modules/shop/entities/order.yaml", 3, "naming.series",
            "unknown token {YYY} in series 'SO-{YYY}-{#####}' (did you mean 'YYYY'?)")


def test_series_without_counter(site: Site):
    error = entity_error(site, 'entity: order\nnaming: {series: "SO-{YYYY}"}\n')
    located(error, "modules/shop/entities/order.yaml", 2, "naming.series",
            "needs exactly one counter like {#####}")


def test_scale_larger_than_precision(site: Site):
    error = entity_error(site, """
        entity: order
        fields:
          qty:
            type: decimal
            precision: 10
            scale: 12
    """)
    located(error, "modules/shop/entities/order.yaml", 6, "fields.qty.scale",
            "scale 12 is larger than precision 10")


def test_precision_over_18(site: Site):
    error = entity_error(site, "entity: order\nfields:\n  qty: {type: money, precision: 20}\n")
    located(error, "modules/shop/entities/order.yaml", 3, "fields.qty.precision",
            "20 is too large: the most allowed is 18")


def test_key_that_does_not_apply_to_the_type(site: Site):
    error = entity_error(site, """
        entity: order
        fields:
          qty:
            type: integer
            options: [a, b]
    """)
    located(error, "modules/shop/entities/order.yaml", 5, "fields.qty.options",
            "'options' does not apply to a integer field ('options' is for select fields)")


def test_default_not_an_option(site: Site):
    error = entity_error(site, """
        entity: order
        fields:
          status: {type: select, options: [draft, paid], default: dratf}
    """)
    located(error, "modules/shop/entities/order.yaml", 3, "fields.status.default",
            "default 'dratf' is not one of the options: draft, paid")


def test_system_column_as_field_name(site: Site):
    error = entity_error(site, """
        entity: order
        fields:
          total: {type: money}
          created_at: {type: datetime}
    """)
    located(error, "modules/shop/entities/order.yaml", 4, "fields.created_at",
            "'created_at' is a system column every entity has")


def test_bad_entity_name(site: Site):
    error = entity_error(site, "entity: SalesOrder\n")
    located(error, "modules/shop/entities/order.yaml", 1, "entity",
            "'SalesOrder' is not a valid name")


def test_renamed_from_an_existing_field(site: Site):
    error = entity_error(site, """
        entity: order
        fields:
          qty: {type: integer}
          quantity: {type: integer, renamed_from: qty}
    """)
    located(error, "modules/shop/entities/order.yaml", 4, "fields.quantity.renamed_from",
            "renamed_from 'qty' names a field that still exists")


def test_renamed_from_an_existing_entity(site: Site):
    error = entity_error(site, "entity: client\nrenamed_from: customer\n", "client.yaml")
    located(error, "modules/shop/entities/client.yaml", 2, "renamed_from",
            "renamed_from 'customer' names an entity that still exists")


def test_unknown_currency_field(site: Site):
    error = entity_error(site, """
        entity: order
        fields:
          currency: {type: string, max_length: 3}
          total: {type: money, currency_field: curency}
    """)
    located(error, "modules/shop/entities/order.yaml", 4, "fields.total.currency_field",
            "unknown field 'curency' (did you mean 'currency'?)")


def test_unreadable_entity_file_does_not_cascade(site: Site):
    site.pack("shop", {
        "entities/customer.yaml": "entity: customer\nfields: [\n",
        "entities/order.yaml": "entity: order\nfields:\n  customer: {type: link, entity: customer}\n",
    })
    error = only(site.check())
    located(error, "modules/shop/entities/customer.yaml", 3, "(file)", "YAML syntax error")


def test_unknown_field_in_entity_references(site: Site):
    site.pack("shop", {"entities/order.yaml": """
        entity: order
        title_field: titel
        list: {columns: [name, total], sort: [-totl]}
        unique_together: [[total, channel]]
        fields:
          title: {type: string}
          total: {type: money}
    """})
    errors = site.check()
    assert [(e.line, e.key) for e in errors] == [
        (2, "title_field"), (3, "list.sort[0]"), (4, "unique_together[0][1]")
    ]
    assert "unknown field 'titel' (did you mean 'title'?)" in str(errors[0])
    assert "unknown field 'totl' (did you mean 'total'?)" in str(errors[1])


def test_yaml_syntax_error_line(site: Site):
    error = entity_error(site, """
        entity: order
        fields:
          code: {type: string
          total: {type: money}
    """)
    located(error, "modules/shop/entities/order.yaml", 4, "(file)", "YAML syntax error")


def test_json_syntax_error_line(site: Site):
    error = entity_error(site, '{\n  "entity": "order",\n  "fields": {,}\n}\n', "order.json")
    located(error, "modules/shop/entities/order.json", 3, "(file)", "JSON syntax error")


def test_json_schema_error_line(site: Site):
    text = '{\n  "entity": "order",\n  "fields": {\n\t"qty": {"type": "integer", "mni": 0}\n  }\n}\n'
    error = entity_error(site, text, "order.json")
    located(error, "modules/shop/entities/order.json", 4, "fields.qty.mni",
            "unknown key 'mni' (did you mean 'min'?)")


def test_empty_file(site: Site):
    error = entity_error(site, "# nothing yet\n")
    located(error, "modules/shop/entities/order.yaml", 1, "(file)", "empty file")


def test_duplicate_key(site: Site):
    error = entity_error(site, """
        entity: order
        fields:
          total: {type: money}
          total: {type: decimal}
    """)
    located(error, "modules/shop/entities/order.yaml", 4, "fields.total", "duplicate key 'total'")


def test_definition_in_the_wrong_folder(site: Site):
    error = entity_error(site, "form: order\nentity: customer\n")
    located(error, "modules/shop/entities/order.yaml", 1, "form",
            "a form definition in entities/ (move it to forms/")


def test_dependency_cycle(site: Site):
    site.pack("alpha", depends=("beta",))
    site.pack("beta", depends=("gamma",))
    site.pack("gamma", depends=("alpha",))
    error = only(site.check())
    located(error, "modules/alpha/module.yaml", 3, "depends[0]",
            "dependency cycle: alpha → beta → gamma → alpha")


def test_unknown_dependency(site: Site):
    site.pack("base")
    site.pack("sales", depends=("bsae",))
    error = only(site.check())
    located(error, "modules/sales/module.yaml", 3, "depends[0]",
            "depends on unknown pack 'bsae' (did you mean 'base'?)")


def test_pack_name_must_match_folder(site: Site):
    site.write("modules/shop/module.yaml", "name: store\nversion: '1'\n")
    error = only(site.check())
    located(error, "modules/shop/module.yaml", 1, "name",
            "pack name 'store' differs from its folder 'shop'")


def test_unquoted_version(site: Site):
    site.write("modules/shop/module.yaml", "name: shop\nversion: 1.0\n")
    error = only(site.check())
    located(error, "modules/shop/module.yaml", 2, "version", "expected text, got number 1.0")
    assert error.hint == "quote it: '1.0'"


def test_duplicate_pack(site: Site):
    site.pack("shop")
    site.write("more/shop/module.yaml", "name: shop\nversion: '2'\n")
    error = only(check([site.modules, site.root / "more"]))
    located(error, "more/shop/module.yaml", 1, "name",
            "duplicate pack 'shop' (also at modules/shop)")


def test_unknown_pack_in_selection(site: Site):
    site.pack("shop")
    error = only(site.check(packs=["shpo"]))
    located(error, "(settings)", 0, "packs", "unknown pack 'shpo' (did you mean 'shop'?)")


def test_duplicate_entity_across_packs(site: Site):
    site.pack("base", {"entities/customer.yaml": CUSTOMER})
    site.pack("crm", {"entities/client.yaml": CUSTOMER}, depends=("base",))
    error = only(site.check())
    located(error, "modules/crm/entities/client.yaml", 1, "entity",
            "duplicate entity 'customer' (already defined in "
            "modules/base/entities/customer.yaml:1 by pack 'base'")


def test_duplicate_view_across_packs(site: Site):
    view = "view: customers\nentity: customer\n"
    site.pack("base", {"entities/customer.yaml": CUSTOMER, "views/customer.yaml": view})
    site.pack("crm", {"views/mine.yaml": view}, depends=("base",))
    error = only(site.check())
    located(error, "modules/crm/views/mine.yaml", 1, "view", "duplicate view 'customers'")


def test_child_used_by_two_parents(site: Site):
    site.pack("shop", {
        "entities/line.yaml": "entity: line\nchild: true\nfields:\n  qty: {type: integer}\n",
        "entities/order.yaml": "entity: order\nfields:\n  lines: {type: table, entity: line}\n",
        "entities/quote.yaml": "entity: quote\nfields:\n  lines: {type: table, entity: line}\n",
    })
    error = only(site.check())
    located(error, "modules/shop/entities/quote.yaml", 3, "fields.lines.entity",
            "child entity 'line' is already the lines of order.lines")


def test_child_used_by_none(site: Site):
    site.pack("shop", {
        "entities/line.yaml": "entity: line\nchild: true\nfields:\n  qty: {type: integer}\n",
    })
    error = only(site.check())
    located(error, "modules/shop/entities/line.yaml", 2, "child",
            "child entity 'line' is used by no table field")


def test_table_of_a_non_child_entity(site: Site):
    error = entity_error(site, "entity: order\nfields:\n  lines: {type: table, entity: customer}\n")
    located(error, "modules/shop/entities/order.yaml", 3, "fields.lines.entity",
            "'customer' is not a child entity")


def _lines_pack(site: Site, claim: str, line_fields: str = "  qty: {type: integer}\n") -> None:
    site.pack("shop", {
        "entities/order.yaml": "entity: order\nfields:\n"
                               "  lines: {type: table, entity: order_line}\n",
        "entities/order_line.yaml": "entity: order_line\nchild: true\nfields:\n"
                                    + line_fields,
        "entities/claim.yaml": "entity: claim\nfields:\n" + claim,
    })


def test_link_to_a_child_entity_without_within_is_refused_saying_what_to_add(site: Site):
    """A line is one of a document's lines: the link must say which field names the
    document."""
    _lines_pack(site, "  order: {type: link, entity: order}\n"
                      "  line: {type: link, entity: order_line}\n")
    error = only(site.check())
    located(error, "modules/shop/entities/claim.yaml", 4, "fields.line.entity",
            "'order_line' is a child entity, the lines of order.lines: a link to a line "
            "needs 'within'")
    assert "say within: order" in str(error)


def test_link_to_a_line_within_a_link_of_the_record_is_accepted(site: Site):
    _lines_pack(site, "  order: {type: link, entity: order}\n"
                      "  line: {type: link, entity: order_line, within: order}\n")
    assert site.check() == []
    line = site.model().entities["claim"].fields["line"]
    assert (line.within, line.within_parent, line.is_line_link) == ("order", False, True)


def test_within_naming_an_unknown_field_suggests_the_links(site: Site):
    _lines_pack(site, "  order: {type: link, entity: order}\n"
                      "  line: {type: link, entity: order_line, within: ordr}\n")
    error = only(site.check())
    located(error, "modules/shop/entities/claim.yaml", 4, "fields.line.within",
            "unknown field 'ordr': within names a link field of 'claim'")
    assert "(did you mean 'order'?)" in str(error)


def test_within_naming_a_link_to_another_entity_is_refused(site: Site):
    _lines_pack(site, "  other: {type: link, entity: claim}\n"
                      "  line: {type: link, entity: order_line, within: other}\n")
    error = only(site.check())
    located(error, "modules/shop/entities/claim.yaml", 4, "fields.line.within",
            "within names claim.other, which is not a link to 'order'")


def test_within_on_a_link_to_a_document_is_refused(site: Site):
    _lines_pack(site, "  order: {type: link, entity: order}\n"
                      "  again: {type: link, entity: order, within: order}\n")
    error = only(site.check())
    located(error, "modules/shop/entities/claim.yaml", 4, "fields.again.within",
            "'order' is not a child entity: within applies to a link to a line")


def test_within_on_a_line_is_looked_up_on_the_line_then_on_its_document(site: Site):
    """A return's line names a line of the order its document (or the line) names."""
    site.pack("shop", {
        "entities/order.yaml": "entity: order\nfields:\n"
                               "  lines: {type: table, entity: order_line}\n",
        "entities/order_line.yaml": "entity: order_line\nchild: true\nfields:\n"
                                    "  qty: {type: integer}\n",
        "entities/ret.yaml": "entity: ret\nfields:\n"
                             "  order: {type: link, entity: order}\n"
                             "  lines: {type: table, entity: ret_line}\n",
        "entities/ret_line.yaml": "entity: ret_line\nchild: true\nfields:\n"
                                  "  own: {type: link, entity: order}\n"
                                  "  a: {type: link, entity: order_line, within: order}\n"
                                  "  b: {type: link, entity: order_line, within: own}\n",
    })
    assert site.check() == []
    fields = site.model().entities["ret_line"].fields
    assert (fields["a"].within_parent, fields["b"].within_parent) == (True, False)


def test_unknown_field_in_form(site: Site):
    site.pack("shop", {"entities/customer.yaml": CUSTOMER, "forms/customer.yaml": """
        form: customer
        entity: customer
        sections:
          - label: Main
            columns:
              - [full_name]
              - [ful_name2, fullname]
    """})
    errors = site.check()
    assert [(e.line, e.key) for e in errors] == [
        (7, "sections[0].columns[1][0]"), (7, "sections[0].columns[1][1]")
    ]
    assert "unknown field 'fullname' of 'customer' (did you mean 'full_name'?)" in str(errors[1])


def test_unknown_child_column_in_form(site: Site):
    site.pack("shop", {
        "entities/line.yaml": "entity: line\nchild: true\nfields:\n  qty: {type: integer}\n",
        "entities/order.yaml": "entity: order\nfields:\n  lines: {type: table, entity: line}\n",
        "forms/order.yaml": """
            form: order
            entity: order
            sections:
              - fields:
                  - {field: lines, columns: [qty, price]}
        """,
    })
    error = only(site.check())
    located(error, "modules/shop/forms/order.yaml", 5, "sections[0].fields[0].columns[1]",
            "unknown field 'price' of 'line'")


def test_view_path_through_a_non_link(site: Site):
    site.pack("shop", {
        "entities/customer.yaml": CUSTOMER,
        "entities/order.yaml": """
            entity: order
            fields:
              customer: {type: link, entity: customer}
              note: {type: text}
        """,
        "views/orders.yaml": """
            view: orders
            entity: order
            columns: [customer.full_name, note.size, customer.city]
        """,
    })
    errors = site.check()
    assert [(e.line, e.key) for e in errors] == [(3, "columns[1]"), (3, "columns[2]")]
    assert "'note' is a text field; only link fields can be followed" in str(errors[0])
    assert "unknown field 'city' of 'customer'" in str(errors[1])


def test_workflow_of_unknown_entity(site: Site):
    site.pack("shop", {"entities/customer.yaml": CUSTOMER,
                       "workflows/approve.yaml": "workflow: approve\nentity: custmer\n"
                                                 "states: {draft: {final: true}}\ntransitions: []\n"})
    error = only(site.check())
    located(error, "modules/shop/workflows/approve.yaml", 2, "entity",
            "unknown entity 'custmer' (did you mean 'customer'?)")


def test_extension_of_entity_not_in_depends(site: Site):
    site.pack("base", {"entities/customer.yaml": CUSTOMER})
    site.pack("crm", {"extends/customer.yaml": """
        extends: customer
        fields:
          level: {type: integer}
    """})
    error = only(site.check())
    located(error, "modules/crm/extends/customer.yaml", 1, "extends",
            "pack 'crm' cannot extend 'customer' of pack 'base': it does not depend on it "
            "(add 'base' to depends in modules/crm/module.yaml)")


def test_extension_may_not_change_a_type_or_narrow(site: Site):
    site.pack("base", {"entities/customer.yaml": CUSTOMER})
    site.pack("crm", {"extends/customer.yaml": """
        extends: customer
        fields:
          full_name:
            type: text
            max_length: 20
    """}, depends=("base",))
    errors = site.check()
    assert [(e.line, e.key) for e in errors] == [
        (4, "fields.full_name.type"), (5, "fields.full_name.max_length")
    ]
    assert "cannot change the type of 'full_name' from string to text" in str(errors[0])
    assert "max_length may only grow: 20 is less than 140" in str(errors[1])


def test_every_problem_is_reported_together(site: Site):
    site.pack("shop", {
        "entities/a.yaml": "entity: a\nfields:\n  x: {type: integer, scale: 2}\n",
        "entities/b.yaml": "entity: b\nfields:\n  y: {type: link, entity: a, requried: true}\n",
        "forms/b.yaml": "form: b\nentity: b\nsections:\n  - fields: [z]\n",
    })
    assert [(e.path.rsplit("/", 2)[-2:], e.line) for e in site.check()] == [
        (["entities", "a.yaml"], 3), (["entities", "b.yaml"], 3),
    ]


def test_the_example_packs_are_clean():
    assert check(EXAMPLE_PACKS) == []
