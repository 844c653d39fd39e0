from .conftest import csrf


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


def test_the_root_leads_to_the_staff_start_page_through_sign_in(app, client):
    anonymous = app.test_client()
    root = anonymous.get("/")
    assert root.status_code == 302 and root.headers["Location"].endswith("/app/")
    start = anonymous.get("/app/")
    assert start.status_code == 302 and "/auth/login" in start.headers["Location"]
    signed = client.get("/", follow_redirects=True)
    assert signed.status_code == 200 and "/app/contact" in signed.get_data(as_text=True)
    assert anonymous.get("/healthz").json == {"status": "ok"}


def test_the_navigation_lists_only_what_the_user_may_read(site, app, client):
    from yiti.permissions.users import create_user

    from .conftest import PASSWORD

    create_user(site, "visitor", PASSWORD, roles=[])
    roleless = app.test_client()
    token = csrf(roleless)
    assert roleless.post("/auth/login", data={"name": "visitor", "password": PASSWORD,
                                              "csrf_token": token}).status_code == 302
    bare = roleless.get("/app/").get_data(as_text=True)
    assert "/app/contact" not in bare and "/app/loan" not in bare
    full = client.get("/app/").get_data(as_text=True)
    assert "/app/contact" in full and "/app/loan" in full
