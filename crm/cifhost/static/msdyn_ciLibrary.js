/*
 * Microsoft.CIFramework 1.0 — test double of msdyn_ciLibrary.js, served by
 * the Switchboard Dynamics host double. It reproduces the behaviour a
 * widget depends on, including the awkward parts:
 *  - requests go to window.top by postMessage (structured clone) as
 *    {messageType, messageData: Map, messageCorrelationId};
 *  - the target origin is protocol//hostname of data-crmurl (or of the
 *    ucilib parameter): the port is dropped;
 *  - a success resolves with messageData.get("value") (a plain object
 *    instead of a Map throws and the call times out); "wrapped" methods
 *    resolve with JSON.stringify of it, searches as an object keyed
 *    "0","1",… (never an array), and reject with a JSON string;
 *  - calls time out after 10 s, except openForm;
 *  - host events arrive as {messageType: name, messageData: JSON string};
 *    handlers must return a Promise, whose outcome goes back to the host;
 *  - addHandler/removeHandler return undefined;
 *  - CIFInitDone fires on window from setTimeout(0) once initialised.
 */
(function () {
  "use strict";
  if (window.Microsoft && window.Microsoft.CIFramework) {
    return;
  }
  var KEEP_PORT = false; // the host double sets this only when told to (a deviation)
  var promiseTimeOut = 10000;
  var TIMEOUT_MESSAGE = "Timeout occurred as no response was received from listener window";

  function originOf(u) {
    try {
      var x = new URL(u);
      // The real library builds protocol + "//" + hostname: no port.
      return x.protocol + "//" + (KEEP_PORT ? x.host : x.hostname);
    } catch (e) {
      return null;
    }
  }

  var script = document.querySelector('script[data-cifid="CIFMainLibrary"]');
  var crmUrl = script ? script.getAttribute("data-crmurl") : null;
  if (!crmUrl) {
    crmUrl = document.referrer;
  }
  var domains = [];
  var d = originOf(crmUrl);
  if (d) {
    domains.push(d);
  }
  var ucilib = new URLSearchParams(window.location.search).get("ucilib");
  if (ucilib) {
    var u = originOf(ucilib);
    if (u) {
      domains.push(u);
    }
  }
  var targetOrigin = domains.length ? domains[domains.length - 1] : "*";
  var allowedHosts = domains.map(function (x) {
    return new URL(x).hostname;
  });

  function hostAllowed(origin) {
    var h;
    try {
      h = new URL(origin).hostname;
    } catch (e) {
      return false;
    }
    return allowedHosts.some(function (a) {
      if (a.indexOf("*.") === 0) {
        return h.slice(-(a.length - 1)) === a.slice(1);
      }
      return a === h;
    });
  }

  function newCorrelationId() {
    return Math.random().toString(36).slice(2) + Math.random().toString(36).slice(2);
  }

  var pending = {};
  var handlers = {};

  function post(type, data, correlationId) {
    window.top.postMessage({ messageType: type, messageData: data, messageCorrelationId: correlationId }, targetOrigin);
  }

  function send(type, data, noTimeout) {
    var id = newCorrelationId();
    return new Promise(function (resolve, reject) {
      var entry = { resolve: resolve, reject: reject, timer: null };
      if (!noTimeout) {
        entry.timer = setTimeout(function () {
          delete pending[id];
          reject(new Map([["message", TIMEOUT_MESSAGE]]));
        }, promiseTimeOut);
      }
      pending[id] = entry;
      post(type, data, id);
    });
  }

  function fireAndForget(type, data) {
    post(type, data, newCorrelationId());
  }

  function mapToObject(m) {
    if (m instanceof Map) {
      var o = {};
      m.forEach(function (v, k) {
        o[k] = mapToObject(v);
      });
      return o;
    }
    return m;
  }

  function errorText(e) {
    if (typeof e === "string") {
      return JSON.stringify({ message: e });
    }
    if (e instanceof Error) {
      return JSON.stringify({ message: e.message });
    }
    return JSON.stringify(mapToObject(e));
  }

  // Wrapped methods resolve with a JSON string and reject with one.
  function wrapped(p, transform) {
    return p.then(
      function (v) {
        return JSON.stringify(transform ? transform(v) : v);
      },
      function (e) {
        return Promise.reject(errorText(e));
      }
    );
  }

  function logErrorsAndReject(message) {
    if (window.console) {
      console.error("CIF: " + message);
    }
    return Promise.reject(JSON.stringify({ message: message }));
  }

  // buildEntity: the search result's entities as an object keyed by index.
  function buildEntity(res) {
    var out = {};
    var list = (res && res.entities) || [];
    for (var i = 0; i < list.length; i++) {
      out[i] = list[i];
    }
    return out;
  }

  function toMap(obj) {
    var m = new Map();
    Object.keys(obj || {}).forEach(function (k) {
      m.set(k, obj[k]);
    });
    return m;
  }

  function parseData(s) {
    if (typeof s !== "string") {
      throw new Error("data must be a JSON string");
    }
    return toMap(JSON.parse(s));
  }

  window.addEventListener("message", function (event) {
    if (!hostAllowed(event.origin)) {
      return;
    }
    var msg = event.data;
    if (!msg || typeof msg !== "object" || !msg.messageType) {
      return;
    }
    if (msg.messageType === "CIF_Response" || msg.messageOutcome) {
      var id = msg.messageCorrelationId;
      var p = pending[id];
      if (!p) {
        return; // a stray response: nobody waits for it
      }
      if (msg.messageOutcome === "success") {
        // Unguarded, as in the real library: a plain object instead of a
        // Map throws here, and the call only settles by timing out.
        var v = msg.messageData.get("value");
        delete pending[id];
        if (p.timer) {
          clearTimeout(p.timer);
        }
        p.resolve(v === undefined ? null : v);
      } else {
        delete pending[id];
        if (p.timer) {
          clearTimeout(p.timer);
        }
        p.reject(msg.messageData);
      }
      return;
    }
    var list = handlers[msg.messageType];
    if (!list || !list.length) {
      return;
    }
    list.forEach(function (fn) {
      var reply = function (outcome, data) {
        window.top.postMessage(
          { messageType: "CIF_Response", messageOutcome: outcome, messageData: data, messageCorrelationId: msg.messageCorrelationId },
          targetOrigin
        );
      };
      var r;
      try {
        r = fn(msg.messageData);
      } catch (e) {
        reply("failure", new Map([["message", String(e && e.message ? e.message : e)]]));
        return;
      }
      if (!r || typeof r.then !== "function") {
        reply("failure", new Map([["message", "The handler for " + msg.messageType + " did not return a Promise."]]));
        return;
      }
      r.then(
        function (v) {
          reply("success", new Map([["value", v]]));
        },
        function (e) {
          reply("failure", new Map([["message", String(e && e.message ? e.message : e)]]));
        }
      );
    });
  });

  window.addEventListener("mousemove", function () {
    fireAndForget("onUserActivity", new Map());
  });
  window.addEventListener("touchstart", function () {
    fireAndForget("onUserActivity", new Map());
  });
  window.addEventListener("keydown", function (e) {
    if (e.ctrlKey && e.altKey && e.shiftKey && (e.key === "D" || e.key === "d")) {
      fireAndForget("debugInformationEvent", new Map());
    }
  });

  var api = {
    setClickToAct: function (value) {
      if (typeof value !== "boolean") {
        return logErrorsAndReject("setClickToAct expects a boolean");
      }
      return send("setclicktoact", new Map([["value", value]]));
    },
    getClickToAct: function () {
      return send("getclicktoact", new Map());
    },
    searchAndOpenRecords: function (entityName, queryParameters, searchOnly, correlationId) {
      if (typeof entityName !== "string" || typeof queryParameters !== "string") {
        return logErrorsAndReject("searchAndOpenRecords expects an entity name and a query string");
      }
      var data = new Map([
        ["entityName", entityName],
        ["queryParameters", queryParameters],
        ["searchOnly", !!searchOnly],
        ["correlationId", correlationId],
      ]);
      return wrapped(send(searchOnly ? "search" : "searchandopenrecords", data), buildEntity);
    },
    createRecord: function (entityName, data) {
      var value;
      try {
        value = parseData(data);
      } catch (e) {
        return logErrorsAndReject("createRecord: " + e.message);
      }
      return wrapped(send("createrecord", new Map([["entityName", entityName], ["value", value]])));
    },
    retrieveRecord: function (entityName, entityId, queryParameters) {
      return wrapped(
        send(
          "retrieverecord",
          new Map([
            ["entityName", entityName],
            ["entityId", entityId],
            ["queryParameters", queryParameters],
          ])
        )
      );
    },
    updateRecord: function (entityName, entityId, data) {
      var value;
      try {
        value = parseData(data);
      } catch (e) {
        return logErrorsAndReject("updateRecord: " + e.message);
      }
      return wrapped(
        send(
          "updaterecord",
          new Map([
            ["entityName", entityName],
            ["entityId", entityId],
            ["value", value],
          ])
        )
      );
    },
    deleteRecord: function (entityName, entityId) {
      return wrapped(send("deleterecord", new Map([["entityName", entityName], ["entityId", entityId]])));
    },
    openForm: function (entityFormOptions, entityFormParameters) {
      if (typeof entityFormOptions !== "string") {
        return logErrorsAndReject("openForm expects entityFormOptions as a JSON string");
      }
      return wrapped(
        send(
          "openform",
          new Map([
            ["entityFormOptions", entityFormOptions],
            ["entityFormParameters", entityFormParameters],
          ]),
          true
        )
      );
    },
    refreshForm: function (save) {
      return wrapped(send("refreshform", new Map([["save", !!save]])));
    },
    renderSearchPage: function (entityName, searchString) {
      return send("renderSearchPage", new Map([["entityName", entityName], ["searchString", searchString]]));
    },
    getEnvironment: function () {
      return wrapped(send("getenvironment", new Map()));
    },
    getMode: function () {
      return send("getmode", new Map());
    },
    setMode: function (value) {
      if (value !== 0 && value !== 1 && value !== 2) {
        return logErrorsAndReject("setMode expects 0, 1 or 2");
      }
      return send("setmode", new Map([["value", value]]));
    },
    getWidth: function () {
      return send("getwidth", new Map());
    },
    setWidth: function (value) {
      if (typeof value !== "number" || value < 0) {
        return logErrorsAndReject("setWidth expects a width in pixels");
      }
      return send("setwidth", new Map([["value", value]]));
    },
    getEntityMetadata: function (entityName, attributes) {
      return send("getEntityMetadata", new Map([["entityName", entityName], ["attributes", attributes]]));
    },
    addHandler: function (eventName, handlerFunction) {
      if (typeof handlerFunction !== "function") {
        return undefined;
      }
      (handlers[eventName] = handlers[eventName] || []).push(handlerFunction);
      fireAndForget("addGenericHandler", new Map([["eventType", eventName]]));
      return undefined;
    },
    removeHandler: function (eventName, handlerFunction) {
      var list = handlers[eventName] || [];
      var i = list.indexOf(handlerFunction);
      if (i >= 0) {
        list.splice(i, 1);
      }
      fireAndForget("removeGenericHandler", new Map([["eventType", eventName]]));
      return undefined;
    },
  };

  window.Microsoft = window.Microsoft || {};
  window.Microsoft.CIFramework = api;
  setTimeout(function () {
    window.dispatchEvent(new CustomEvent("CIFInitDone", { detail: domains.slice() }));
  }, 0);
})();
