/* Yiti's screens: small behaviour Bootstrap and htmx don't give. No inline handlers:
   everything is wired here by class name, so a strict CSP ('self' + nonce) holds. */
(function () {
  "use strict";

  /* -- link inputs: search as you type (htmx fills .yiti-options), pick with a click -- */
  document.addEventListener("click", function (event) {
    var option = event.target.closest(".yiti-option");
    if (option) {
      var box = option.closest(".yiti-link");
      var hidden = box.querySelector(".yiti-link-value");
      var search = box.querySelector(".yiti-link-search");
      hidden.value = option.dataset.id;
      search.value = option.dataset.title;
      box.querySelector(".yiti-options").replaceChildren();
      search.setAttribute("aria-expanded", "false");
      markDirty(box);
      clearLinesOf(hidden);
      hidden.dispatchEvent(new Event("change", { bubbles: true }));
      return;
    }
    document.querySelectorAll(".yiti-options").forEach(function (list) {
      if (!list.parentElement.contains(event.target)) { list.replaceChildren(); }
    });
  });
  document.addEventListener("input", function (event) {
    var search = event.target.closest(".yiti-link-search");
    if (search && search.value.trim() === "") {
      var hidden = search.closest(".yiti-link").querySelector(".yiti-link-value");
      hidden.value = "";
      clearLinesOf(hidden);
    }
  });
  /* A link to a line (data-within: the link to its document) follows that document:
     choosing another one, or none, clears the line chosen from the old one. The document's
     input is on the line's own row, or the form's top (data-within-top). */
  function clearLinesOf(hidden) {
    var field = hidden.name.split(".").pop();
    var onLine = hidden.name.indexOf("[") !== -1;
    var scope = onLine ? hidden.closest("tr") : hidden.closest("form");
    if (!scope || !/^[a-z][a-z0-9_]*$/.test(field)) { return; }
    scope.querySelectorAll('.yiti-link[data-within="' + field + '"]').forEach(function (box) {
      if (box.contains(hidden) || box.hasAttribute("data-within-top") === onLine) { return; }
      box.querySelector(".yiti-link-value").value = "";
      box.querySelector(".yiti-link-search").value = "";
    });
  }
  document.addEventListener("htmx:afterSwap", function (event) {
    var list = event.detail.target;
    if (list.classList && list.classList.contains("yiti-options")) {
      var search = list.parentElement.querySelector(".yiti-link-search");
      if (search) { search.setAttribute("aria-expanded", list.children.length ? "true" : "false"); }
    }
  });

  /* -- child lines: add, remove, reorder; inputs renumbered so names match positions -- */
  function renumber(editor) {
    var table = editor.dataset.table;
    var pattern = new RegExp("^" + table + "\\[(\\d+|__i__)\\]");
    editor.querySelectorAll("tbody tr.yiti-line").forEach(function (row, i) {
      row.querySelectorAll("[name],[id],[for],[aria-describedby]").forEach(function (el) {
        ["name", "id", "for", "aria-describedby"].forEach(function (attr) {
          var v = el.getAttribute(attr);
          if (v && pattern.test(v)) { el.setAttribute(attr, v.replace(pattern, table + "[" + i + "]")); }
        });
      });
      var number = row.querySelector(".yiti-line-number");
      if (number && number.firstChild && number.firstChild.nodeType === 3) {
        number.firstChild.nodeValue = String(i + 1);
      }
    });
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest(".yiti-add-line, .yiti-line-remove, .yiti-line-up, .yiti-line-down");
    if (!button) { return; }
    var editor = button.closest(".yiti-lines");
    var body = editor.querySelector("tbody");
    if (button.classList.contains("yiti-add-line")) {
      var template = editor.querySelector("template.yiti-line-template");
      var row = template.content.firstElementChild.cloneNode(true);
      body.appendChild(row);
      renumber(editor);
      if (window.htmx) { window.htmx.process(row); }
      var first = row.querySelector("input:not([type=hidden]),select,textarea");
      if (first) { first.focus(); }
    } else {
      var line = button.closest("tr");
      if (button.classList.contains("yiti-line-remove")) { line.remove(); }
      else if (button.classList.contains("yiti-line-up") && line.previousElementSibling) {
        body.insertBefore(line, line.previousElementSibling);
      } else if (button.classList.contains("yiti-line-down") && line.nextElementSibling) {
        body.insertBefore(line.nextElementSibling, line);
      }
    }
    renumber(editor);
    markDirty(editor);
    editor.dispatchEvent(new Event("change", { bubbles: true }));  /* conditions over lines */
  });

  /* -- warn before leaving a form with unsaved changes -- */
  var dirty = false;
  function markDirty(el) { if (el.closest && el.closest("form.yiti-form")) { dirty = true; } }
  document.addEventListener("input", function (event) { markDirty(event.target); });
  document.addEventListener("change", function (event) { markDirty(event.target); });
  document.addEventListener("submit", function (event) {
    if (event.target.matches("form.yiti-form")) { dirty = false; }
  });
  window.addEventListener("beforeunload", function (event) {
    if (dirty) { event.preventDefault(); event.returnValue = ""; }
  });

  /* -- conditional fields: the server says which fields to hide and which are required
        (visible_if / required_if); the browser only applies the answer -- */
  var stateTimer = null, stateAsked = 0;
  function askFormState(form) {
    var asked = ++stateAsked, body = new URLSearchParams();
    new FormData(form).forEach(function (value, key) {
      if (typeof value === "string") { body.append(key, value); }  /* files stay put */
    });
    var token = form.querySelector("input[name=csrf_token]");
    fetch(form.dataset.stateUrl, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": token ? token.value : "" }
    }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (state) {
      if (state && asked === stateAsked) { applyFormState(form, state); }
    }).catch(function () { /* offline: keep the form as it is; the save still checks */ });
  }
  function applyFormState(form, state) {
    form.querySelectorAll(".yiti-conditional[data-field]").forEach(function (box) {
      var hide = state.hidden.indexOf(box.dataset.field) >= 0;
      if (hide && box.querySelector(".is-invalid")) { hide = false; }  /* keep errors in view */
      box.hidden = hide;
    });
    form.querySelectorAll(".yiti-required-mark[data-for]").forEach(function (mark) {
      var name = mark.dataset.for, required = state.required.indexOf(name) >= 0;
      mark.hidden = !required;
      var input = document.getElementById(name);
      if (input && form.contains(input)) {
        if (required) { input.setAttribute("aria-required", "true"); }
        else { input.removeAttribute("aria-required"); }
      }
    });
    form.dispatchEvent(new CustomEvent("yiti:form-state", { bubbles: true, detail: state }));
  }
  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("form.yiti-form[data-state-url]");
    if (!form || event.target.type === "file") { return; }
    window.clearTimeout(stateTimer);
    stateTimer = window.setTimeout(function () { askFormState(form); }, 150);
  });

  /* -- confirmations and "select all" in lists -- */
  document.addEventListener("click", function (event) {
    var el = event.target.closest("[data-confirm]");
    if (el && !window.confirm(el.dataset.confirm)) { event.preventDefault(); }
  });
  document.addEventListener("change", function (event) {
    if (event.target.matches(".yiti-check-all")) {
      var form = event.target.closest("form");
      form.querySelectorAll("input[name=ids]").forEach(function (box) { box.checked = event.target.checked; });
    }
  });
})();
