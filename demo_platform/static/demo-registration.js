// The demo platform's admin page during a Dynamic Registration: the tool's registration page runs in
// the frame (or a new window) and says it is done with the org.imsglobal.lti.close postMessage.
(function () {
  "use strict";
  var script = document.currentScript;
  var toolOrigin = script && script.getAttribute("data-tool-origin");
  var doneUrl = (script && script.getAttribute("data-done-url")) || "/demo/admin/tools";
  window.addEventListener("message", function (event) {
    if (!toolOrigin || event.origin !== toolOrigin) {
      return;
    }
    var data = event.data;
    var subject = data && typeof data === "object" ? data.subject : data;
    if (subject !== "org.imsglobal.lti.close") {
      return;
    }
    if (event.source && event.source !== window && typeof event.source.close === "function") {
      try { event.source.close(); } catch (ignored) { /* a frame cannot be closed */ }
    }
    window.location.assign(doneUrl);
  });
})();
