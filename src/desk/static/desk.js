// tdr desk: small progressive enhancements. Every page works without this script.
"use strict";

// A form with data-confirm asks before it is sent (execute, release, revoke).
document.addEventListener("submit", function (ev) {
  var f = ev.target;
  if (f.dataset && f.dataset.confirm && !window.confirm(f.dataset.confirm)) {
    ev.preventDefault();
  }
});

// A textarea with data-check is checked line by line as it is typed: the server parses each
// line with the same rules as the registration and answers
// {"lines": [{"n": 1, "ok": true, "warn": false, "text": "...", "reason": "..."}]}, shown in the table whose
// id the textarea's data-into names. Text only (textContent), never HTML.
(function () {
  var boxes = document.querySelectorAll("textarea[data-check]");
  Array.prototype.forEach.call(boxes, function (box) {
    var timer = null;
    var form = box.form;
    var table = document.getElementById(box.dataset.into);
    if (!form || !table) { return; }
    var body = table.querySelector("tbody");
    var status = document.getElementById(box.dataset.status || "");
    function check() {
      var data = new URLSearchParams();
      data.set("_csrf", form.querySelector("input[name=_csrf]").value);
      data.set("type", form.querySelector("input[name=request_type]").value);
      data.set("text", box.value);
      fetch(box.dataset.check, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: data.toString()
      }).then(function (r) { return r.ok ? r.json() : null; }).then(function (j) {
        if (!j) { return; }
        while (body.firstChild) { body.removeChild(body.firstChild); }
        var bad = 0;
        j.lines.forEach(function (l) {
          var tr = document.createElement("tr");
          tr.className = "line";
          tr.dataset.ok = l.ok ? "true" : "false";
          // Accepted, but worth a second look (a shared address without its port, ...).
          tr.dataset.warn = l.warn ? "true" : "false";
          if (!l.ok) { bad += 1; }
          [String(l.n), l.text, l.reason].forEach(function (t, i) {
            var td = document.createElement("td");
            if (i === 2) { td.className = "state"; }
            td.textContent = t;
            tr.appendChild(td);
          });
          body.appendChild(tr);
        });
        table.hidden = j.lines.length === 0;
        if (status) { status.textContent = j.summary || ""; }
      }).catch(function () { /* the server checks again on submit */ });
    }
    box.addEventListener("input", function () {
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(check, 250);
    });
    if (box.value.trim() !== "") { check(); }
  });
})();
