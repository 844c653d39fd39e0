"""Ids in a screen's address that no record can have (beyond 64 bits, digits that are
not ASCII, a NUL) are a 404, as in the API (:func:`yiti.web.api.inputs.possible_id`),
never a 500 nor another record."""

from __future__ import annotations

import pytest

IDENTS = [str(2**63), str(2**64), "9" * 30, "9" * 5000, "²", "¹2", "٣", "%00", "1%00"]


@pytest.mark.parametrize("ident", IDENTS)
def test_a_screen_given_an_id_no_record_can_have_is_404(client, records, ident: str) -> None:
    for _ in range(3):  # ids 1 to 3 exist: "٣" must not reach record 3
        records.create("contact", {"full_name": "Ann Lee"})
    claim = records.create("expense_claim", {"title": "Taxi", "amount": "12"})
    assert claim["id"]
    for url in (f"/app/contact/{ident}", f"/app/contact/{ident}/edit",
                f"/workflow/expense_claim/{ident}"):
        response = client.get(url)
        assert response.status_code == 404, (url, response.get_data(as_text=True)[:500])
    for url in (f"/app/contact/{ident}/edit", f"/app/contact/{ident}/delete",
                f"/app/contact/views/{ident}/delete", f"/delegations/{ident}/end",
                f"/workflow/act/expense_claim/{ident}/submit"):
        response = client.post(url, {"full_name": "X", "version": "1"})
        assert response.status_code == 404, (url, response.get_data(as_text=True)[:500])


def test_the_largest_id_is_simply_not_found(client) -> None:
    assert client.get(f"/app/contact/{2**63 - 1}").status_code == 404
    assert client.get(f"/workflow/contact/{2**63 - 1}").status_code == 404
