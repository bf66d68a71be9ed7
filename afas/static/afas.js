// AFAS declaration form: after the live preview (htmx) updates a field's error container,
// mirror it on the input (aria-invalid, DSFR error classes) so errors stay tied to their field.
(function () {
  function sync(container) {
    if (!container || !container.id || container.id.indexOf("f-") !== 0) { return; }
    var key = container.id.slice(2, -"-error".length);
    var input = document.getElementById("f-" + key);
    if (!input || input.type === "checkbox") { return; }
    var invalid = container.getAttribute("data-invalid") === "1";
    var group = input.closest(".fr-input-group");
    if (invalid) { input.setAttribute("aria-invalid", "true"); } else { input.removeAttribute("aria-invalid"); }
    input.classList.toggle("fr-input--error", invalid);
    if (group) { group.classList.toggle("fr-input-group--error", invalid); }
  }
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    sync(event.detail.target || event.target);
  });
  document.addEventListener("htmx:afterSettle", function () {
    document.querySelectorAll(".afas-field-error[data-invalid]").forEach(sync);
  });
})();
