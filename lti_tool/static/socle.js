// Page behaviour that fits an LMS frame (the CSP allows only scripts served from here):
// focus the one status or error message, count the deliverable's words, tell the platform our height.
(function () {
  var root = document.documentElement;
  var framed = window.self !== window.top;
  if (framed) {
    root.classList.add("framed");
  }

  // A confirmation or a refusal: bring it into view and give it focus, so it is read first (after load:
  // the browser's own scrolling to a fragment would otherwise come after it).
  window.addEventListener("load", function () {
    var message = document.querySelector("[data-focus]");
    if (message) {
      message.focus({ preventScroll: true });
      message.scrollIntoView({ block: "center" });
    }
  });

  document.addEventListener("DOMContentLoaded", function () {

    // A table wider than the screen scrolls sideways: keyboard users must be able to reach and scroll it,
    // so it becomes a focusable region named after its caption.
    var regions = document.querySelectorAll(".table-wrap");
    var markScrollable = function () {
      Array.prototype.forEach.call(regions, function (wrap) {
        if (wrap.scrollWidth > wrap.clientWidth + 1) {
          var caption = wrap.querySelector("caption");
          wrap.setAttribute("tabindex", "0");
          wrap.setAttribute("role", "region");
          wrap.setAttribute("aria-label", caption ? caption.textContent.trim() : document.title);
        } else if (wrap.getAttribute("tabindex") === "0") {
          wrap.removeAttribute("tabindex");
          wrap.removeAttribute("role");
          wrap.removeAttribute("aria-label");
        }
      });
    };
    markScrollable();
    window.addEventListener("resize", markScrollable);

    var text = document.querySelector("textarea[data-min-words]");
    var counter = document.getElementById("deliverable-words");
    if (text && counter) {
      var update = function () {
        var words = text.value.split(/\s+/).filter(Boolean).length;
        // French says « 0 mot », English "0 words" (the same rule as Babel's plural forms).
        var zeroIsSingular = counter.hasAttribute("data-zero-is-singular");
        var one = words === 1 || (words === 0 && zeroIsSingular);
        var template = counter.getAttribute(one ? "data-template-one" : "data-template-many");
        counter.textContent = template.replace("{n}", String(words));
      };
      text.addEventListener("input", update);
    }

    // LTI's frameResize message (Canvas, Brightspace, Sakai; Moodle through a plugin): the content's height.
    if (framed && window.parent && window.parent.postMessage) {
      var last = 0;
      var send = function () {
        // The body's height, not the document's: a platform that grew the frame must be able to shrink it
        // (the document is never shorter than its frame).
        var height = Math.ceil(document.body.scrollHeight);
        if (height !== last) {
          last = height;
          window.parent.postMessage({ subject: "lti.frameResize", height: height }, "*");
        }
      };
      send();
      if (window.ResizeObserver) {
        new ResizeObserver(send).observe(document.body);
      } else {
        window.addEventListener("resize", send);
      }
    }
  });
})();
