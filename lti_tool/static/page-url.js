// After a launch, the page was the answer to a POST: give it its own GET address, so that reloading
// or bookmarking it does not re-post the one-time launch token.
(function () {
  var meta = document.querySelector('meta[name="socle-page-url"]');
  if (meta && window.history && window.history.replaceState) {
    window.history.replaceState(null, "", meta.getAttribute("content"));
  }
})();
