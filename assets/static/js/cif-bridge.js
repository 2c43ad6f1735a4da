/*
 * Switchboard CIF bridge — the widget side of crm.Bridge.
 *
 * Loaded by the widget when Dynamics 365 frames it. start(baseUrl, send)
 * loads <base>/webresources/Widget/msdyn_ciLibrary.js the documented way
 * (data-crmurl, data-cifid="CIFMainLibrary"), waits for CIFInitDone,
 * turns click-to-act on, reads getEnvironment and registers the host
 * event handlers. handle(req) runs one request from the app,
 * {id, op, entity, recordId, query, data, params}, with
 * Microsoft.CIFramework and resolves with {id, ok, result} or
 * {id, ok: false, error}, CIF's JSON strings already parsed.
 *
 * Events go to send(obj):
 *   {type: "ready", env}               CIF is up; env.userId has no braces
 *   {type: "clicktoact", number, field, entity, entityId}
 *   {type: "mode", value}              0 minimised, 1 docked
 *   {type: "navigate", url}
 *   {type: "size", value}
 *   {type: "error", message}           the library could not be loaded
 *
 * It depends on nothing else in the widget.
 */
(function (root) {
  "use strict";

  var LIBRARY_PATH = "/webresources/Widget/msdyn_ciLibrary.js";
  var INIT_TIMEOUT_MS = 20000;

  var st = { promise: null, cif: null, env: null, send: function () {} };

  // CIF resolves most calls with a JSON string; give the app the value.
  function parse(v) {
    if (typeof v !== "string") {
      return v;
    }
    var t = v.trim();
    if (t === "") {
      return v;
    }
    var c = t.charAt(0);
    if (c !== "{" && c !== "[" && c !== '"') {
      return v;
    }
    try {
      return JSON.parse(t);
    } catch (e) {
      return v;
    }
  }

  // Maps (raw CIF rejections) and Errors become plain objects.
  function plain(v) {
    if (v instanceof Map) {
      var o = {};
      v.forEach(function (x, k) {
        o[k] = plain(x);
      });
      return o;
    }
    if (v instanceof Error) {
      return { message: v.message, name: v.name };
    }
    if (Array.isArray(v)) {
      return v.map(plain);
    }
    return v;
  }

  function errorValue(e) {
    var v = plain(parse(e));
    if (v === undefined || v === null || v === "") {
      return { message: "Dynamics rejected the request without a reason" };
    }
    return v;
  }

  function notify(obj) {
    try {
      st.send(obj);
    } catch (e) {
      // The app's transport is not ours to break.
    }
  }

  function userIdOf(env) {
    var id = env && (env.userId || env.userid);
    return id ? String(id).replace(/[{}]/g, "").toLowerCase() : "";
  }

  // Host event handlers: each must return a Promise (CIF replies to the
  // host with its outcome; anything else is reported as a failure).
  function onClickToAct(data) {
    var p = parse(data) || {};
    if (typeof p !== "object") {
      p = { value: String(p) };
    }
    var field = p.field && typeof p.field === "object" ? p.field : {};
    var number = p.value !== undefined && p.value !== null && p.value !== "" ? p.value : field.value;
    notify({
      type: "clicktoact",
      number: number === undefined || number === null ? "" : String(number),
      field: p.name || field.name || "",
      entity: p.entityLogicalName || p.AssociatedEntityLogicalName || "",
      entityId: p.entityId ? String(p.entityId).replace(/[{}]/g, "").toLowerCase() : "",
    });
    return Promise.resolve(true);
  }

  function eventHandler(type, key) {
    return function (data) {
      var p = parse(data) || {};
      var ev = { type: type };
      ev[key] = p && typeof p === "object" ? p.value : p;
      notify(ev);
      return Promise.resolve(true);
    };
  }

  function loadLibrary(origin) {
    return new Promise(function (resolve, reject) {
      var done = false;
      var timer = setTimeout(function () {
        finish(new Error("Dynamics did not initialise the Channel Integration Framework in time"));
      }, INIT_TIMEOUT_MS);
      function finish(err) {
        if (done) {
          return;
        }
        done = true;
        clearTimeout(timer);
        root.removeEventListener("CIFInitDone", onInit);
        if (err) {
          reject(err);
        } else {
          resolve(root.Microsoft.CIFramework);
        }
      }
      function onInit() {
        if (root.Microsoft && root.Microsoft.CIFramework) {
          finish(null);
        }
      }
      // Listen before the script can fire the event.
      root.addEventListener("CIFInitDone", onInit);
      if (root.Microsoft && root.Microsoft.CIFramework) {
        setTimeout(onInit, 0);
        return;
      }
      var s = document.createElement("script");
      s.src = origin + LIBRARY_PATH;
      s.setAttribute("data-crmurl", origin);
      s.setAttribute("data-cifid", "CIFMainLibrary");
      s.onerror = function () {
        finish(new Error("Could not load " + s.src + " (is this page framed by Dynamics 365, and are you signed in?)"));
      };
      document.head.appendChild(s);
    });
  }

  function start(baseUrl, send) {
    if (typeof send === "function") {
      st.send = send;
    }
    if (st.promise) {
      return st.promise;
    }
    var origin;
    try {
      var u = new URL(baseUrl);
      // The app has already checked base against the configured org;
      // plain http is only ever a loopback test page.
      var loopback = u.hostname === "127.0.0.1" || u.hostname === "localhost";
      if (u.protocol !== "https:" && !(u.protocol === "http:" && loopback)) {
        throw new Error("the Dynamics address must use https");
      }
      origin = u.origin;
    } catch (e) {
      st.promise = Promise.reject(e);
      notify({ type: "error", message: "Invalid Dynamics address: " + e.message });
      return st.promise;
    }
    st.promise = loadLibrary(origin)
      .then(function (cif) {
        st.cif = cif;
        cif.addHandler("onclicktoact", onClickToAct);
        cif.addHandler("onmodechanged", eventHandler("mode", "value"));
        cif.addHandler("onpagenavigate", eventHandler("navigate", "url"));
        cif.addHandler("onsizechanged", eventHandler("size", "value"));
        return cif.setClickToAct(true).then(
          function () {},
          function (e) {
            // Agents without write access to the provider still work
            // when the administrator enabled outbound communication.
            notify({ type: "warning", message: "setClickToAct failed", error: errorValue(e) });
          }
        );
      })
      .then(function () {
        return st.cif.getEnvironment();
      })
      .then(function (raw) {
        var env = parse(raw) || {};
        env.userId = userIdOf(env);
        st.env = env;
        notify({ type: "ready", env: env });
        return env;
      })
      .catch(function (e) {
        notify({ type: "error", message: (e && e.message) || String(e) });
        st.promise = null; // a later start may try again
        throw e;
      });
    return st.promise;
  }

  function call(cif, req) {
    var data = req.data === undefined ? undefined : JSON.stringify(req.data);
    switch (req.op) {
      case "search":
        // Exactly three arguments: the fourth is a correlation id.
        return cif.searchAndOpenRecords(req.entity, req.query || "", true);
      case "create":
        return cif.createRecord(req.entity, data);
      case "update":
        return cif.updateRecord(req.entity, req.recordId, data);
      case "retrieve":
        return cif.retrieveRecord(req.entity, req.recordId, req.query || "");
      case "openform":
        return cif.openForm(data, req.params === undefined ? undefined : JSON.stringify(req.params));
      case "rendersearch":
        return cif.renderSearchPage(req.entity, req.query || "");
      case "setmode":
        return cif.setMode(Number(req.data));
      case "getmode":
        return cif.getMode();
      case "getenvironment":
        return cif.getEnvironment();
    }
    return Promise.reject({ message: "unknown bridge operation " + req.op });
  }

  function handle(req) {
    var id = req && req.id;
    if (!st.cif) {
      return Promise.resolve({ id: id, ok: false, error: { message: "Dynamics is not ready yet", code: "not-ready" } });
    }
    var p;
    try {
      p = Promise.resolve(call(st.cif, req || {}));
    } catch (e) {
      p = Promise.reject(e);
    }
    return p.then(
      function (v) {
        return { id: id, ok: true, result: v === undefined ? null : parse(v) };
      },
      function (e) {
        return { id: id, ok: false, error: errorValue(e) };
      }
    );
  }

  root.SwitchboardCIF = {
    start: start,
    handle: handle,
    environment: function () {
      return st.env;
    },
    ready: function () {
      return !!st.cif && !!st.env;
    },
  };
})(window);
