// LTI client-side storage (1EdTech "Client Side postMessages"): when the browser blocks the tool's cookies
// in the LMS frame, the login keeps a secret in the platform's storage and the launch reads it back.
(function () {
  var root = document.querySelector("[data-lti-storage]");
  if (!root) { return; }
  var mode = root.getAttribute("data-lti-storage");
  var targetName = root.getAttribute("data-target");
  var origin = root.getAttribute("data-origin");
  var key = root.getAttribute("data-key");
  var target = targetName === "_parent" ? window.parent : (window.parent.frames[targetName] || window.parent);
  var messageId = "socle-" + Math.random().toString(36).slice(2);
  var done = false;

  function finish(value) {
    if (done) { return; }
    done = true;
    if (mode === "put") {
      window.location.href = root.getAttribute("data-next");
    } else {
      var form = root.querySelector("form");
      form.querySelector("input[name=lti_storage_value]").value = value || "";
      form.submit();
    }
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== origin || !event.data || event.data.message_id !== messageId) { return; }
    finish(event.data.value);
  });
  if (mode === "put") {
    target.postMessage({ subject: "lti.put_data", message_id: messageId, key: key,
                         value: root.getAttribute("data-value") }, origin);
  } else {
    target.postMessage({ subject: "lti.get_data", message_id: messageId, key: key }, origin);
  }
  // A platform that never answers must not leave the learner on a blank page.
  window.setTimeout(function () { finish(""); }, 3000);
})();
