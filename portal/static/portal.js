// Send the CSRF token with every htmx request (forms rendered by the server carry it too).
document.addEventListener("htmx:configRequest", function (event) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) { event.detail.headers["X-CSRFToken"] = meta.getAttribute("content"); }
});
