// AFAS declaration form, on top of a form that works without JavaScript (docs/afas.md, « Saisie ») :
// - the live preview (htmx, hx-swap="none") is merged here: the points de contrôle and the
//   estimate are refreshed, but a justification field already on the page is kept as it is
//   (same element, value, focus and caret), so nothing typed while a preview returns is lost;
// - field errors (out-of-band swaps) are mirrored on their inputs (aria-invalid, DSFR classes);
// - the sums of the account lines are computed as one types (« Reporter la somme »);
// - the draft saves itself (debounced) and leaving with unsaved edits asks first;
// - on a phone, a summary bar at the bottom opens the controls panel.
(function () {
  var form = document.getElementById("afas-form");
  if (!form) { return; }
  var live = document.getElementById("afas-live");
  var side = document.getElementById("afas-side");
  var bar = document.getElementById("afas-live-bar");
  var closeButton = document.getElementById("afas-live-close");
  var status = document.getElementById("afas-autosave");
  var money = new Intl.NumberFormat("fr-FR", {style: "currency", currency: "EUR"});

  // -- field errors tied to their inputs ------------------------------------------------------
  function sync(container) {
    if (!container || !container.id || container.id.indexOf("f-") !== 0) { return; }
    // htmx's oobAfterSwap carries the element that was replaced: read the one now in the page.
    container = document.getElementById(container.id);
    if (!container) { return; }
    var key = container.id.slice(2, -"-error".length);
    var input = document.getElementById("f-" + key);
    if (!input) { return; }
    var invalid = container.getAttribute("data-invalid") === "1";
    if (invalid) { input.setAttribute("aria-invalid", "true"); } else { input.removeAttribute("aria-invalid"); }
    if (input.type === "checkbox") {
      var box = input.closest(".fr-checkbox-group");
      if (box) { box.classList.toggle("fr-checkbox-group--error", invalid); }
      return;
    }
    var group = input.closest(".fr-input-group");
    input.classList.toggle("fr-input--error", invalid);
    if (group) { group.classList.toggle("fr-input-group--error", invalid); }
  }
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    sync(event.detail.target || event.target);
  });
  document.addEventListener("htmx:afterSettle", function () {
    document.querySelectorAll(".afas-field-error[data-invalid]").forEach(sync);
  });

  // -- the live preview, merged without touching what is being typed ---------------------------
  function mergeLive(html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    var fresh = template.content.querySelector(".afas-live-inner");
    var current = live.querySelector(".afas-live-inner");
    if (!fresh || !current) { return; }
    var kept = {};
    current.querySelectorAll("[name^='justification_']").forEach(function (el) { kept[el.name] = el.value; });

    ["[data-testid='afas-controles-summary']", "#afas-live-estimate"].forEach(function (selector) {
      var a = current.querySelector(selector), b = fresh.querySelector(selector);
      if (a && b) { a.replaceWith(b); }
    });

    var list = current.querySelector("#afas-controles");
    var freshList = fresh.querySelector("#afas-controles");
    var existing = {};
    Array.prototype.forEach.call(list.children, function (li) {
      if (li.dataset.code) { existing[li.dataset.code] = li; }
    });
    var wanted = [];
    Array.prototype.forEach.call(freshList.children, function (li) {
      var code = li.dataset.code;
      var old = code && existing[code];
      if (old && old.querySelector("textarea") && li.querySelector("textarea")) {
        var msg = li.querySelector("#controle-" + code + "-msg");
        var oldMsg = old.querySelector("#controle-" + code + "-msg");
        if (msg && oldMsg && oldMsg.innerHTML !== msg.innerHTML) { oldMsg.innerHTML = msg.innerHTML; }
        wanted.push(old);
        return;
      }
      var box = li.querySelector("textarea");
      if (box && kept[box.name] !== undefined) { box.value = kept[box.name]; }
      if (old && old.outerHTML === li.outerHTML) { wanted.push(old); return; }
      wanted.push(li);
    });
    Array.prototype.slice.call(list.children).forEach(function (li) {
      if (wanted.indexOf(li) < 0) { li.remove(); }
    });
    wanted.forEach(function (node, i) {
      if (list.children[i] !== node) { list.insertBefore(node, list.children[i] || null); }
    });
    // Justifications of alerts that went away stay in the form, with what was last typed.
    current.querySelectorAll("input[type='hidden'][name^='justification_']").forEach(function (el) { el.remove(); });
    Object.keys(kept).forEach(function (name) {
      if (list.querySelector("textarea[name='" + name + "']")) { return; }
      var hidden = document.createElement("input");
      hidden.type = "hidden";
      hidden.name = name;
      hidden.value = kept[name];
      current.appendChild(hidden);
    });
    updateBar();
  }
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.target === live && event.detail.xhr.status === 200) {
      mergeLive(event.detail.serverResponse);
    }
  });

  // -- sums of the account lines, as one types --------------------------------------------------
  function parseNumber(value) {
    var cleaned = String(value || "").replace(/[\s\u00a0\u202f€]/g, "").replace(",", ".");
    if (cleaned === "" || !/^\d+(\.\d+)?$/.test(cleaned)) { return null; }
    return parseFloat(cleaned);
  }
  function updateSums() {
    document.querySelectorAll(".afas-somme").forEach(function (hint) {
      var prefix = hint.dataset.lines, total = 0;
      form.querySelectorAll("input.fr-input[name^='" + prefix + "']").forEach(function (input) {
        if (!/^[cp]\d\d$/.test(input.name)) { return; }
        var value = parseNumber(input.value);
        if (value !== null) { total += value; }
      });
      total = Math.round(total * 100) / 100;
      if (hint.dataset.value !== total.toFixed(2)) {
        hint.dataset.value = total.toFixed(2);
        hint.querySelector(".afas-somme-value").textContent = money.format(total);
      }
    });
  }
  document.querySelectorAll(".afas-report").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var target = document.getElementById(button.dataset.target);
      var hint = document.getElementById(button.dataset.target + "-somme");
      target.value = hint.dataset.value.replace(/\.00$/, "").replace(".", ",");
      target.dispatchEvent(new Event("input", {bubbles: true}));
      target.focus();
    });
  });
  form.addEventListener("input", function (event) {
    if (/^[cp]\d\d$/.test(event.target.name || "")) { updateSums(); }
  });

  // -- automatic draft save, and a question before leaving unsaved edits -----------------------
  var timer = null, inFlight = false, again = false, edits = 0, submitting = false, waiting = null;
  function setDirty(dirty) {
    if (dirty) { form.setAttribute("data-dirty", "1"); } else { form.removeAttribute("data-dirty"); }
  }
  function save() {
    timer = null;
    if (inFlight) { again = true; return; }
    inFlight = true;
    var sent = edits;
    fetch(form.dataset.autosaveUrl, {method: "POST", body: new FormData(form), credentials: "same-origin",
                                     headers: {"Accept": "application/json"}})
      .then(function (response) {
        return response.json().then(function (body) { return {ok: response.ok, body: body}; });
      })
      .then(function (result) {
        status.textContent = result.body.message || "";
        if (result.ok && edits === sent) { setDirty(false); }
      })
      .catch(function () {
        status.textContent = "Brouillon non enregistré : connexion impossible. Vos saisies restent dans la page.";
      })
      .then(function () {
        inFlight = false;
        if (waiting) {  // a submit waited for this save: send it now (it carries every field)
          var button = waiting.button;
          waiting = null;
          again = false;
          form.setAttribute("data-confirmed", "1");
          try { form.requestSubmit(button); } finally { form.removeAttribute("data-confirmed"); }
          return;
        }
        if (again) { again = false; save(); }
      });
  }
  function edited() {
    edits += 1;
    setDirty(true);
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(save, 1000);
  }
  form.addEventListener("input", edited);
  form.addEventListener("change", edited);
  // A submit never races an automatic save of the same draft (SQLite would refuse one of the two
  // writes): it waits for the save in flight, then goes (already confirmed if it had to be).
  window.addEventListener("submit", function (event) {
    if (event.target !== form || event.defaultPrevented) { return; }
    if (timer) { clearTimeout(timer); timer = null; }
    if (inFlight) {
      event.preventDefault();
      waiting = {button: event.submitter || null};
      return;
    }
    submitting = true;
  });
  window.addEventListener("beforeunload", function (event) {
    if (submitting || !form.hasAttribute("data-dirty")) { return; }
    event.preventDefault();
    event.returnValue = "";
  });

  // -- on a phone: the summary bar opens the controls panel -------------------------------------
  function updateBar() {
    var summary = live.querySelector("[data-testid='afas-controles-summary']");
    var amount = live.querySelector("[data-testid='afas-droit-montant']");
    if (!summary) { return; }
    var b = parseInt(summary.dataset.bloquants, 10), a = parseInt(summary.dataset.alertes, 10);
    var said = (b ? b + " bloquant" + (b > 1 ? "s" : "") : "Aucun bloquant") + ", "
      + (a ? a + " alerte" + (a > 1 ? "s" : "") : "aucune alerte");
    if (amount) { said += " · droit estimé " + amount.textContent.trim(); }
    document.getElementById("afas-live-bar-summary").textContent = said;
  }
  function openPanel(open) {
    side.classList.toggle("afas-side--open", open);
    bar.setAttribute("aria-expanded", open ? "true" : "false");
    closeButton.hidden = !open;
    if (open) { closeButton.focus(); } else { bar.focus(); }
  }
  bar.hidden = false;
  updateBar();
  bar.addEventListener("click", function () { openPanel(!side.classList.contains("afas-side--open")); });
  closeButton.addEventListener("click", function () { openPanel(false); });
  side.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && side.classList.contains("afas-side--open")) { openPanel(false); }
  });
})();
