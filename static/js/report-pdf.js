// While a report's PDF is being prepared, ask every few seconds and reload when it is ready.
(function () {
  var box = document.getElementById("pdf-status");
  if (!box || box.dataset.pending !== "1") return;
  var tries = 0;
  function check() {
    tries += 1;
    fetch(box.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (data && !data.pending) { window.location.reload(); }
        else if (tries < 60) { setTimeout(check, 3000); }
      })
      .catch(function () { if (tries < 60) setTimeout(check, 5000); });
  }
  setTimeout(check, 2000);
})();
