// Send the CSRF token with every htmx request (forms rendered by the server carry it too).
document.addEventListener("htmx:configRequest", function (event) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) { event.detail.headers["X-CSRFToken"] = meta.getAttribute("content"); }
});

// After a failed submit (a page answering a POST: successful ones redirect), gather the
// field errors into a DSFR error summary at the top of the page and move the focus to it, so
// that keyboard and screen-reader users land on what to correct; each entry links to its field.
// Without field errors, the focus goes to the flashed error message, if any (e.g. sign-in).
(function () {
  if (document.body.getAttribute("data-submitted") !== "1") { return; }
  var main = document.getElementById("contenu");
  if (!main) { return; }
  var errors = Array.prototype.slice.call(main.querySelectorAll(".fr-error-text[id$='-error']"));
  var target = null;
  if (errors.length) {
    target = document.createElement("div");
    target.className = "fr-alert fr-alert--error fr-mb-3w";
    target.id = "error-summary";
    target.setAttribute("role", "alert");
    target.setAttribute("data-testid", "error-summary");
    var title = document.createElement("h2");
    title.className = "fr-alert__title";
    title.textContent = errors.length === 1 ? "Une erreur à corriger" : errors.length + " erreurs à corriger";
    target.appendChild(title);
    var list = document.createElement("ul");
    errors.forEach(function (error) {
      var fieldId = error.id.replace(/-error$/, "");
      var field = document.getElementById(fieldId);
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = "#" + fieldId;
      var label = field && document.querySelector("label[for='" + fieldId + "']");
      link.textContent = (label ? label.childNodes[0].textContent.trim() + " : " : "") + error.textContent.trim();
      link.addEventListener("click", function (event) {
        if (field) { event.preventDefault(); field.focus(); }
      });
      item.appendChild(link);
      list.appendChild(item);
    });
    target.appendChild(list);
    var heading = main.querySelector("h1");
    if (heading && heading.parentNode) { heading.parentNode.insertBefore(target, heading.nextSibling); }
    else { main.insertBefore(target, main.firstChild); }
  } else {
    target = main.querySelector(":scope > .fr-alert--error[role='alert']");  // a flashed error
  }
  if (target) {
    target.setAttribute("tabindex", "-1");
    target.focus();
  }
})();

// « Copier » buttons: data-copy names the element whose text goes to the clipboard; the
// button's status region says it worked (or how to copy by hand).
document.querySelectorAll("[data-copy]").forEach(function (button) {
  button.addEventListener("click", function () {
    var source = document.getElementById(button.getAttribute("data-copy"));
    var status = document.getElementById(button.getAttribute("data-copy") + "-status");
    if (!source) { return; }
    var text = source.textContent.trim();
    var done = function () { if (status) { status.textContent = "Jeton copié dans le presse-papiers."; } };
    var failed = function () {
      var range = document.createRange();
      range.selectNodeContents(source);
      window.getSelection().removeAllRanges();
      window.getSelection().addRange(range);
      if (status) { status.textContent = "Copie impossible : le jeton est sélectionné, copiez-le avec Ctrl+C."; }
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, failed);
    } else {
      failed();
    }
  });
});

// Irreversible actions confirm (templates/_confirm_modal.html): a submit button (or form) with
// data-confirm-title opens the DSFR modal with data-confirm-summary and the amount
// (data-confirm-amount, or the text of the element data-confirm-amount-from points to, after
// data-confirm-amount-label); « Confirmer » submits with the same button. Without JavaScript
// the form submits as usual. A click before the DSFR script has started (it loads as a module,
// after this script) waits for it rather than skipping the confirmation; if DSFR never starts,
// the browser's own confirmation asks instead.
(function () {
  var modal = document.getElementById("confirm-modal");
  if (!modal) { return; }
  var pending = null;
  function attr(source, name) { return source.getAttribute("data-confirm-" + name) || ""; }
  document.addEventListener("submit", function (event) {
    var form = event.target, button = event.submitter;
    var source = button && button.hasAttribute("data-confirm-title") ? button
      : (form.hasAttribute("data-confirm-title") ? form : null);
    if (!source || form.hasAttribute("data-confirmed")) { return; }
    event.preventDefault();
    event.stopImmediatePropagation();
    document.getElementById("confirm-modal-title").textContent = attr(source, "title");
    document.getElementById("confirm-modal-summary").textContent = attr(source, "summary");
    var amount = attr(source, "amount");
    var from = attr(source, "amount-from") && document.querySelector(attr(source, "amount-from"));
    if (from) { amount = from.textContent.trim(); }
    var amountLine = document.getElementById("confirm-modal-amount");
    amountLine.textContent = amount ? (attr(source, "amount-label") || "Montant") + " : " + amount : "";
    amountLine.hidden = !amount;
    document.getElementById("confirm-modal-submit").textContent = attr(source, "action") || "Confirmer";
    pending = {form: form, button: button};
    var question = [attr(source, "title"), attr(source, "summary"), amountLine.textContent].join("\n");
    whenDsfrReady(function () { window.dsfr(modal).modal.disclose(); }, function () {
      if (window.confirm(question)) { submitPending(); } else { pending = null; }
    });
  }, true);
  function dsfrReady() { return typeof window.dsfr === "function" && modal.hasAttribute("data-fr-js-modal"); }
  function whenDsfrReady(then, giveUp) {
    var waited = 0;
    (function poll() {
      if (dsfrReady()) { then(); return; }
      waited += 50;
      if (waited > 5000) { giveUp(); return; }
      window.setTimeout(poll, 50);
    })();
  }
  function submitPending() {
    if (!pending) { return; }
    var form = pending.form, button = pending.button;
    pending = null;
    if (dsfrReady()) { window.dsfr(modal).modal.conceal(); }
    form.setAttribute("data-confirmed", "1");
    try {
      if (button) { form.requestSubmit(button); } else { form.requestSubmit(); }
    } finally {
      form.removeAttribute("data-confirmed");
    }
  }
  document.getElementById("confirm-modal-submit").addEventListener("click", submitPending);
})();
