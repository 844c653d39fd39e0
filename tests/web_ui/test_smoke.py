def test_pages(client, records):
    g = records.create("contact_group", {"code": "VIP", "title": "Very important"})
    c = records.create("contact", {"full_name": "Ann Lee", "group": g["id"]})
    item = records.create("item", {"code": "BK-1", "title": "SICP", "deposit": "20.00"})
    loan = records.create("loan", {"contact": c["id"], "lines": [{"item": item["id"]}]})
    for url in ["/app/", "/app/contact", "/app/loan", "/app/contact/new", "/app/loan/new",
                f"/app/contact/{c['id']}", f"/app/loan/{loan['id']}",
                f"/app/loan/{loan['id']}/edit", f"/app/contact/{c['id']}/edit",
                "/app/contact/import", "/app/contact/export.csv", "/app/loan/export.xlsx",
                "/app/contact/lookup?q=ann"]:
        r = client.get(url)
        assert r.status_code == 200, (url, r.get_data(as_text=True)[:3000])
