// Record of Visit, improved: the form works without this file.
// - keeps a draft on the device as you type, and restores it after a reload;
// - with no connection, queues the visit on the device and sends it when back online;
// - every send carries the same idempotency key, so a retry never makes a second visit.
(function () {
  "use strict";
  var form = document.getElementById("visit-form");
  if (!form || !window.localStorage || !window.fetch) return;
  var status = document.getElementById("visit-status");
  var draftKey = "draft:" + form.dataset.draftKey;
  var QUEUE = "visit-queue";

  function say(text, kind) {
    status.className = "alert alert-" + (kind || "info");
    status.textContent = text;
  }
  function read(name, fallback) {
    try { return JSON.parse(localStorage.getItem(name)) || fallback; } catch (e) { return fallback; }
  }
  function write(name, value) { localStorage.setItem(name, JSON.stringify(value)); }
  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16)), h = "";
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    for (var i = 0; i < 16; i++) h += (b[i] + 256).toString(16).slice(1) + (i === 3 || i === 5 || i === 7 || i === 9 ? "-" : "");
    return h;
  }
  // A visit with this key is on the server: the form on screen must not send it again as a
  // new visit (the server would refuse it for ever), so it gets a new key.
  function retireKey(key, clear) {
    if (form.elements.key.value !== key) return;
    if (clear) form.reset();
    form.elements.key.value = newKey();
  }

  function serialise() {
    var data = {};
    new FormData(form).forEach(function (value, name) {
      if (name === "csrfmiddlewaretoken") return;
      (data[name] = data[name] || []).push(value);
    });
    return data;
  }
  function restore(data) {
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.name === "csrfmiddlewaretoken" || !(el.name in data)) return;
      var values = data[el.name];
      if (el.type === "checkbox" || el.type === "radio") el.checked = values.indexOf(el.value) !== -1;
      else el.value = values[0];
    });
  }

  // Restore a draft unless the server has just shown this form with what was typed.
  var draft = read(draftKey, null);
  var summary = form.elements.summary;
  if (draft && summary && !summary.value) {
    restore(draft);
    say("Your unsent draft has been restored.", "info");
  }
  form.addEventListener("input", function () { write(draftKey, serialise()); });
  form.addEventListener("change", function () { write(draftKey, serialise()); });

  function body() { return new URLSearchParams(new FormData(form)).toString(); }

  function isJson(response) {
    return (response.headers.get("Content-Type") || "").indexOf("json") !== -1;
  }
  var SIGN_IN_AGAIN = "Your session has ended. Your visit is kept on this phone: sign in again, " +
    "open this form, and it will be sent.";

  // A queued visit goes with this page's CSRF token: signing in again replaces the token.
  function fresh(item) {
    var token = form.elements.csrfmiddlewaretoken.value;
    var params = new URLSearchParams(item.body);
    params.set("csrfmiddlewaretoken", token);
    return { url: item.url, body: params.toString(), key: item.key, csrf: token, draftKey: item.draftKey };
  }

  function send(item) {
    return fetch(item.url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Accept": "application/json",
        "Content-Type": "application/x-www-form-urlencoded",
        "X-CSRFToken": item.csrf || ""
      },
      body: item.body
    });
  }

  function enqueue(item) {
    var queue = read(QUEUE, []).filter(function (q) { return q.key !== item.key; });
    queue.push(item);
    write(QUEUE, queue);
  }

  function flush() {
    var queue = read(QUEUE, []);
    if (!queue.length || !navigator.onLine) return;
    say("Sending the visit you saved while offline…", "info");
    queue.reduce(function (chain, item) {
      return chain.then(function () {
        return send(fresh(item)).then(function (response) {
          if (response.redirected || !isJson(response)) {
            say(SIGN_IN_AGAIN, "warning");
          } else if (response.status === 201 || response.status === 200 || response.status === 409) {
            write(QUEUE, read(QUEUE, []).filter(function (q) { return q.key !== item.key; }));
            localStorage.removeItem(item.draftKey);
            retireKey(item.key, response.status !== 409);
            if (response.status === 409) say("A queued visit clashed with one already saved; it was not sent again.", "warning");
            else say("Your visit has been sent and saved.", "success");
          } else if (response.status === 403) {
            say("Your visit is kept on this phone. Sign in again and it will be sent.", "warning");
          } else {
            say("Your visit is kept on this phone but the server refused it; open the form to check it.", "warning");
          }
        });
      });
    }, Promise.resolve()).catch(function () {
      say("Still no connection: your visit is kept on this phone and will be sent later.", "warning");
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var item = {
      url: form.action || window.location.href,
      body: body(),
      key: form.elements.key.value,
      csrf: form.elements.csrfmiddlewaretoken.value,
      draftKey: draftKey
    };
    if (!navigator.onLine) {
      enqueue(item);
      say("No connection. Your visit is saved on this phone and will be sent when you are back online.", "warning");
      return;
    }
    say("Saving…", "info");
    send(item).then(function (response) {
      if (response.redirected || response.status === 403) {
        // Sent to the sign-in page, or the CSRF check failed: the session ended while the
        // form was open. Keep the visit; it goes once the person has signed in again.
        enqueue(item);
        say(SIGN_IN_AGAIN, "warning");
        return;
      }
      if ((response.status === 201 || response.status === 200) && isJson(response)) {
        return response.json().then(function (data) {
          localStorage.removeItem(draftKey);
          window.location.href = data.url;
        });
      }
      if (response.status === 409) {
        return response.json().then(function (data) {
          retireKey(item.key, false);
          write(draftKey, serialise());
          say(data.error, "danger");
        });
      }
      // Anything else (invalid input, expired session): let the server show the form,
      // with what was typed, the ordinary way. The draft stays on the device.
      form.submit();
    }).catch(function () {
      enqueue(item);
      say("The connection dropped. Your visit is saved on this phone and will be sent when you are back online.", "warning");
    });
  });

  window.addEventListener("online", flush);
  flush();
})();
