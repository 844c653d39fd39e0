// The storefront's behaviour (no inline scripts: the CSP allows only files of the site).
// Public pages are cached and shared, so they carry no CSRF token and nothing personal:
// acting (add to cart) asks /api/v1/_me for the token first, and a visitor who is not
// signed in is sent to sign in and back. Personal pages carry the token in a meta tag.
(function () {
  "use strict";
  var X = "/api/v1/x/commerce/";
  var script = document.currentScript;
  var body = document.body;
  var channel = body.getAttribute("data-channel");

  function toast(text) {
    var el = document.getElementById("sf-toast");
    if (!el) { return; }
    el.textContent = text;
    el.hidden = false;
    window.setTimeout(function () { el.hidden = true; }, 2500);
  }

  function signIn() {
    var next = location.pathname + location.search;
    location.href = body.getAttribute("data-login") + "?next=" + encodeURIComponent(next);
  }

  function token() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) { return Promise.resolve(meta.getAttribute("content")); }
    return fetch("/api/v1/_me", {credentials: "same-origin"}).then(function (r) {
      if (r.status === 401) { signIn(); throw new Error("sign in"); }
      return r.json();
    }).then(function (me) { return me.csrf_token; });
  }

  function post(name, data, extra) {
    return token().then(function (csrf) {
      var headers = {"Content-Type": "application/json", "X-CSRFToken": csrf};
      Object.keys(extra || {}).forEach(function (k) { headers[k] = extra[k]; });
      return fetch(X + name, {method: "POST", credentials: "same-origin", headers: headers,
                              body: JSON.stringify(data)});
    }).then(function (r) {
      if (r.status === 401) { signIn(); throw new Error("sign in"); }
      return r.json().then(function (json) {
        if (!r.ok) {
          // one field at fault: its message alone (the detail prefixes the field's path)
          var said = json.errors && json.errors.length === 1 ? json.errors[0].message
            : json.detail;
          var err = new Error(r.status === 429 ? script.getAttribute("data-busy")
                              : (said || script.getAttribute("data-failed")));
          err.problem = json;
          throw err;
        }
        return json;
      });
    });
  }

  function failed(err) {
    if (err && err.message !== "sign in") { toast(err.message); }
  }

  document.querySelectorAll(".sf-add").forEach(function (button) {
    button.addEventListener("click", function () {
      button.disabled = true;
      post("cart/add", {sku: button.getAttribute("data-sku"), qty: 1, channel: channel})
        .then(function () { toast(script.getAttribute("data-added")); })
        .catch(failed)
        .then(function () { button.disabled = false; });
    });
  });

  document.querySelectorAll(".sf-qty").forEach(function (input) {
    input.addEventListener("change", function () {
      post("cart/update", {sku: input.getAttribute("data-sku"),
                           qty: parseInt(input.value, 10) || 0, channel: channel})
        .then(function () { location.reload(); }).catch(failed);
    });
  });

  document.querySelectorAll(".sf-remove").forEach(function (button) {
    button.addEventListener("click", function () {
      post("cart/remove", {sku: button.getAttribute("data-sku"), channel: channel})
        .then(function () { location.reload(); }).catch(failed);
    });
  });

  document.querySelectorAll(".sf-cancel").forEach(function (button) {
    button.addEventListener("click", function () {
      post("orders/cancel", {order: button.getAttribute("data-order")})
        .then(function () { location.reload(); }).catch(failed);
    });
  });

  var form = document.getElementById("sf-checkout");
  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var submit = form.querySelector("button[type=submit]");
      var error = form.querySelector(".sf-error");
      submit.disabled = true;
      error.hidden = true;
      var data = {channel: channel, pay: "test"};  // the order and its payment at once
      ["ship_to_name", "ship_to_phone", "ship_to_address"].forEach(function (name) {
        data[name] = form.elements[name].value;
      });
      var sku = form.getAttribute("data-sku");
      if (sku) { data.lines = [{sku: sku, qty: 1}]; }  // Buy now: not the cart's lines
      var key = form.getAttribute("data-key");
      post("checkout", data, {"Idempotency-Key": key}).then(function (order) {
        var q = form.getAttribute("data-chq");
        location.href = form.getAttribute("data-orders") + encodeURIComponent(order.name) +
          (q ? "?channel=" + encodeURIComponent(q) : "");
      }).catch(function (err) {
        if (err && err.message === "sign in") { return; }
        error.textContent = err.message;
        error.hidden = false;
        submit.disabled = false;
      });
    });
  }
}());
