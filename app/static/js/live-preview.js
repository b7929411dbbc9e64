// Live preview for the course editor. The page works without it: "Preview without saving"
// renders the same HTML on the server. This only saves the click.
(function () {
  "use strict";
  var form = document.querySelector("form[data-preview-url]");
  var preview = document.getElementById("preview");
  if (!form || !preview || !window.fetch) { return; }
  var textarea = form.querySelector("textarea");
  var timer = null;
  function refresh() {
    var body = new FormData();
    body.append("content", textarea.value);
    body.append("revision", form.querySelector("input[name=revision]").value);
    body.append("csrf_token", form.querySelector("input[name=csrf_token]").value);
    fetch(form.getAttribute("data-preview-url"), { method: "POST", body: body, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data) { preview.innerHTML = data.html; } })
      .catch(function () { /* keep the last preview */ });
  }
  textarea.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 600);
  });
})();
