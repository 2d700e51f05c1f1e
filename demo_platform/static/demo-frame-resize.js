// The demo platform honours the tool's "lti.frameResize" postMessage, as Canvas does: the message
// {subject: "lti.frameResize", height} from the tool's frame, from a registered tool's origin
// (data-allowed-origins), sets the frame's height to the tool's content height (within sane bounds), so
// the course page scrolls once, not twice.
(function () {
  "use strict";
  var script = document.currentScript;
  var allowed = ((script && script.getAttribute("data-allowed-origins")) || "").split(/\s+/).filter(Boolean);
  var MIN_HEIGHT = 100;
  var MAX_HEIGHT = 20000;

  window.addEventListener("message", function (event) {
    var data = event.data;
    if (!data || typeof data !== "object") return;
    if (data.subject !== "lti.frameResize" && data.subject !== "org.imsglobal.lti.frameResize") return;
    if (allowed.indexOf(event.origin) === -1) return;
    var frames = document.querySelectorAll("iframe.lti-frame");
    for (var i = 0; i < frames.length; i++) {
      var frame = frames[i];
      if (frame.contentWindow !== event.source) continue;
      var height = Number(data.height);
      if (!isFinite(height)) return;
      height = Math.min(MAX_HEIGHT, Math.max(MIN_HEIGHT, Math.ceil(height)));
      // The frame's border is part of its height (border-box): the tool gets exactly `height` to draw in.
      var border = frame.offsetHeight - frame.clientHeight;
      frame.style.height = height + border + "px";
      return;
    }
  });
})();
