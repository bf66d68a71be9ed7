// Progressive enhancement of the EDI upload form: drag and drop of the XML file and its .p7s
// signature, and an upload progress bar. Without JavaScript the plain form works as is.
(function () {
  "use strict";
  var form = document.getElementById("edi-upload-form");
  if (!form || !window.DataTransfer || !window.XMLHttpRequest) { return; }
  var zone = document.getElementById("edi-dropzone");
  var status = document.getElementById("edi-dropzone-status");
  var dataInput = document.getElementById("edi-fichier");
  var sigInput = document.getElementById("edi-signature");
  zone.hidden = false;

  function assign(input, file) {
    var dt = new DataTransfer();
    dt.items.add(file);
    input.files = dt.files;
  }
  function describe() {
    var parts = [];
    if (dataInput.files.length) { parts.push("fichier : " + dataInput.files[0].name); }
    if (sigInput.files.length) { parts.push("signature : " + sigInput.files[0].name); }
    status.textContent = parts.length ? parts.join(" — ") : "";
  }
  ["dragenter", "dragover"].forEach(function (name) {
    zone.addEventListener(name, function (event) {
      event.preventDefault();
      zone.classList.add("edi-dropzone--active");
    });
  });
  ["dragleave", "drop"].forEach(function (name) {
    zone.addEventListener(name, function () { zone.classList.remove("edi-dropzone--active"); });
  });
  zone.addEventListener("drop", function (event) {
    event.preventDefault();
    var files = Array.prototype.slice.call(event.dataTransfer.files || []);
    files.forEach(function (file) {
      if (/\.p7s$/i.test(file.name)) { assign(sigInput, file); } else { assign(dataInput, file); }
    });
    if (files.length && !sigInput.files.length) {
      status.textContent = "Ajoutez aussi la signature détachée (.p7s).";
      return;
    }
    describe();
  });
  dataInput.addEventListener("change", describe);
  sigInput.addEventListener("change", describe);

  form.addEventListener("submit", function (event) {
    if (!dataInput.files.length || !sigInput.files.length) { return; } // let the browser say why
    event.preventDefault();
    var zoneProgress = document.getElementById("edi-upload-progress-zone");
    var bar = document.getElementById("edi-upload-progress");
    zoneProgress.hidden = false;
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) { bar.value = Math.round(100 * e.loaded / e.total); }
    });
    xhr.addEventListener("load", function () {
      if (xhr.status === 200 && xhr.responseURL && xhr.responseURL !== form.action) {
        window.location.assign(xhr.responseURL);   // followed the 303 to the file's page
      } else {
        document.open(); document.write(xhr.responseText); document.close();
      }
    });
    xhr.addEventListener("error", function () {
      status.textContent = "L'envoi a échoué : vérifiez votre connexion et réessayez.";
    });
    xhr.send(new FormData(form));
  });
})();
