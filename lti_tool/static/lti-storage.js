// LTI client-side storage (1EdTech "Client Side postMessages"): when the browser blocks the tool's cookies
// in the LMS frame, the login keeps a secret in the platform's storage and the launch reads it back.
(function () {
  var root = document.querySelector("[data-lti-storage]");
  if (!root) { return; }
  var mode = root.getAttribute("data-lti-storage");
  var targetName = root.getAttribute("data-target");
  var origin = root.getAttribute("data-origin");
  var key = root.getAttribute("data-key");
  var messageId = "socle-" + Math.random().toString(36).slice(2);
  var done = false;

  function target() {
    // A named storage frame may still be loading: look it up again at each try.
    if (targetName === "_parent") { return window.parent; }
    try { return window.parent.frames[targetName] || null; } catch (e) { return null; }
  }

  function finish(value) {
    if (done) { return; }
    done = true;
    if (mode === "put") {
      window.location.href = root.getAttribute("data-next");
    } else {
      var form = root.querySelector("form");
      // An empty value tells Socle the storage did not answer: it then offers to open a new window.
      form.querySelector("input[name=lti_storage_value]").value = value || "";
      form.submit();
    }
  }

  window.addEventListener("message", function (event) {
    var data = event.data;
    if (event.origin !== origin || !data || data.message_id !== messageId) { return; }
    if (data.error) { finish(""); return; }
    finish(data.value);
  });

  var message = mode === "put"
    ? { subject: "lti.put_data", message_id: messageId, key: key, value: root.getAttribute("data-value") }
    : { subject: "lti.get_data", message_id: messageId, key: key };
  var tries = 0;
  (function send() {
    if (done) { return; }
    var frame = target();
    if (frame) { frame.postMessage(message, origin); }
    tries += 1;
    // Resend until answered (a storage frame may not be listening yet), for about three seconds.
    if (tries < 12) { window.setTimeout(send, 250); } else { finish(""); }
  })();
})();
