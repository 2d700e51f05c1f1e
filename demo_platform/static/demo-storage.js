// The demo platform's side of the 1EdTech "Client Side postMessages" and "Platform Storage" specs.
//
// A tool launched from the demo course (with lti_storage_target) can keep values here when the browser
// blocks its cookies: it posts {subject: "lti.put_data", message_id, key, value} and
// {subject: "lti.get_data", message_id, key} to the storage target frame, and gets back
// "<subject>.response" with the same message_id. "lti.capabilities" lists what is supported (and in
// which frame). Values live in this page's memory only, kept apart per origin, and only tools
// registered on the platform (data-allowed-origins) may use them. The "org.imsglobal." prefix is
// accepted too, as some platforms use it.
(function () {
  "use strict";
  var script = document.currentScript;
  var allowed = ((script && script.getAttribute("data-allowed-origins")) || "").split(/\s+/).filter(Boolean);
  // On the course page, when a dedicated frame keeps the values, this page only answers capabilities.
  var storageFrame = (script && script.getAttribute("data-storage-frame")) || null;
  var role = (script && script.getAttribute("data-role")) || "page";
  var MAX_KEYS_PER_ORIGIN = 500;
  var MAX_VALUE_LENGTH = 4096;
  var stores = new Map(); // origin -> Map(key -> value)

  function reply(event, message) {
    if (event.source && typeof event.source.postMessage === "function") {
      event.source.postMessage(message, event.origin);
    }
  }

  function failure(event, subject, messageId, code, text) {
    reply(event, { subject: subject + ".response", message_id: messageId, error: { code: code, message: text } });
  }

  function capabilities() {
    var storage = storageFrame ? { frame: storageFrame } : {};
    return [
      { subject: "lti.capabilities" },
      Object.assign({ subject: "lti.put_data" }, storage),
      Object.assign({ subject: "lti.get_data" }, storage)
    ];
  }

  window.addEventListener("message", function (event) {
    var data = event.data;
    if (!data || typeof data !== "object" || typeof data.subject !== "string") {
      return;
    }
    var subject = data.subject;
    var name = subject.indexOf("org.imsglobal.") === 0 ? subject.slice("org.imsglobal.".length) : subject;
    if (name.indexOf("lti.") !== 0 || /\.response$/.test(name)) {
      return; // not a request for the platform (or another frame's answer)
    }
    var messageId = data.message_id;
    if (messageId === undefined || messageId === null || messageId === "") {
      failure(event, subject, messageId, "bad_request", "message_id is required");
      return;
    }
    if (name === "lti.capabilities") {
      reply(event, { subject: subject + ".response", message_id: messageId, supported_messages: capabilities() });
      return;
    }
    if (name !== "lti.put_data" && name !== "lti.get_data") {
      failure(event, subject, messageId, "unsupported_subject", "unsupported subject " + subject);
      return;
    }
    if (storageFrame && role !== "frame") {
      failure(event, subject, messageId, "unsupported_subject", "send storage messages to the frame " + storageFrame);
      return;
    }
    if (allowed.indexOf(event.origin) === -1) {
      failure(event, subject, messageId, "unauthorized", "origin " + event.origin + " is not a registered tool");
      return;
    }
    if (typeof data.key !== "string" || data.key === "") {
      failure(event, subject, messageId, "bad_request", "key must be a non-empty string");
      return;
    }
    var store = stores.get(event.origin);
    if (!store) {
      store = new Map();
      stores.set(event.origin, store);
    }
    var response = { subject: subject + ".response", message_id: messageId, key: data.key };
    if (name === "lti.get_data") {
      if (store.has(data.key)) {
        response.value = store.get(data.key);
      }
      reply(event, response);
      return;
    }
    if (data.value === null || data.value === undefined) {
      store.delete(data.key); // putting nothing clears the key
      reply(event, response);
      return;
    }
    if (typeof data.value !== "string") {
      failure(event, subject, messageId, "bad_request", "value must be a string");
      return;
    }
    if (data.value.length > MAX_VALUE_LENGTH || (!store.has(data.key) && store.size >= MAX_KEYS_PER_ORIGIN)) {
      failure(event, subject, messageId, "storage_exhaustion", "the platform storage for this origin is full");
      return;
    }
    store.set(data.key, data.value);
    response.value = data.value;
    reply(event, response);
  });
})();
