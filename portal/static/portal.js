// Send the CSRF token with every htmx request (forms rendered by the server carry it too).
document.addEventListener("htmx:configRequest", function (event) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) { event.detail.headers["X-CSRFToken"] = meta.getAttribute("content"); }
});

// Irreversible actions confirm (templates/_confirm_modal.html): a submit button (or form) with
// data-confirm-title opens the DSFR modal with data-confirm-summary and the amount
// (data-confirm-amount, or the text of the element data-confirm-amount-from points to, after
// data-confirm-amount-label); « Confirmer » submits with the same button. Without JavaScript,
// or before the DSFR script is ready, the form submits as usual.
(function () {
  var modal = document.getElementById("confirm-modal");
  if (!modal) { return; }
  var pending = null;
  function attr(source, name) { return source.getAttribute("data-confirm-" + name) || ""; }
  document.addEventListener("submit", function (event) {
    var form = event.target, button = event.submitter;
    var source = button && button.hasAttribute("data-confirm-title") ? button
      : (form.hasAttribute("data-confirm-title") ? form : null);
    if (!source || form.hasAttribute("data-confirmed") || typeof window.dsfr !== "function") { return; }
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
    window.dsfr(modal).modal.disclose();
  }, true);
  document.getElementById("confirm-modal-submit").addEventListener("click", function () {
    if (!pending) { return; }
    var form = pending.form, button = pending.button;
    pending = null;
    window.dsfr(modal).modal.conceal();
    form.setAttribute("data-confirmed", "1");
    try {
      if (button) { form.requestSubmit(button); } else { form.requestSubmit(); }
    } finally {
      form.removeAttribute("data-confirmed");
    }
  });
})();
