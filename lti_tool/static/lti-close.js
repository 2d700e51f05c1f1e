// End of Dynamic Registration: tell the platform's page (opener or parent) that it can close this frame.
(function () {
  var target = window.opener || (window.parent !== window ? window.parent : null);
  if (target) { target.postMessage({ subject: "org.imsglobal.lti.close" }, "*"); }
})();
