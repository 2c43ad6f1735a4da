/*
 * The host side of the Dynamics host double: a small Unified Interface
 * shell that frames the channel provider's widget in the side panel and
 * answers its Microsoft.CIFramework requests the way the real host does
 * (responses to event.source with targetOrigin = event.origin, Map
 * messageData, host events as JSON strings), running them against the
 * double's Web API. Every request is reported to /_cif/log for tests.
 */
(function () {
  "use strict";
  var cfg = JSON.parse(document.body.dataset.config);
  var tab = Math.random().toString(36).slice(2, 10);
  var meta = {};
  var state = { mode: 1, width: 378, clickToAct: !!cfg.clickToAct };
  var frame = document.getElementById("cif-widget");
  var panel = document.getElementById("cif-panel");
  var main = document.getElementById("main");
  var widgetOrigin = null;
  if (cfg.widgetUrl) {
    try {
      widgetOrigin = new URL(cfg.widgetUrl, location.href).origin;
    } catch (e) {
      widgetOrigin = null;
    }
  }
  var trustedHosts = widgetOrigin ? [new URL(widgetOrigin).hostname] : [];
  document.getElementById("user").textContent = cfg.userName || "";

  function report(type, data, outcome, result) {
    fetch("/_cif/log", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ tab: tab, type: type, data: data, outcome: outcome, result: result }),
    }).catch(function () {});
  }

  function mapToObject(m) {
    if (m instanceof Map) {
      var o = {};
      m.forEach(function (v, k) {
        o[k] = mapToObject(v);
      });
      return o;
    }
    if (Array.isArray(m)) {
      return m.map(mapToObject);
    }
    return m;
  }

  function corr() {
    return Math.random().toString(36).slice(2) + Math.random().toString(36).slice(2);
  }

  function ready() {
    return fetch("/_cif/meta")
      .then(function (r) {
        return r.json();
      })
      .then(function (list) {
        list.forEach(function (m) {
          meta[m.entity] = m;
        });
      });
  }

  function setOf(entity) {
    var m = meta[entity];
    if (!m) {
      throw { message: "The entity " + entity + " does not exist in this organisation.", errorCode: 0x80040217 };
    }
    return m.set;
  }

  function webApi(method, path, body) {
    var init = { method: method, headers: { Accept: "application/json", "OData-Version": "4.0" } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch("/api/data/v9.2/" + path, init).then(function (r) {
      if (r.ok) {
        return r;
      }
      return r
        .json()
        .catch(function () {
          return {};
        })
        .then(function (j) {
          var e = (j && j.error) || {};
          throw { message: e.message || "HTTP " + r.status, errorCode: parseInt(e.code || "0", 16) || r.status, code: e.code };
        });
    });
  }

  function idFromHeader(r) {
    var h = r.headers.get("OData-EntityId") || "";
    var m = /\(([0-9a-fA-F-]{36})\)$/.exec(h);
    return m ? m[1] : null;
  }

  function options(q) {
    if (!q) {
      return "";
    }
    return q.charAt(0) === "?" ? q : "?" + q;
  }

  // The CIF operations, as Xrm.WebApi / Xrm.Navigation would run them.
  var ops = {
    search: function (d) {
      return webApi("GET", setOf(d.get("entityName")) + options(d.get("queryParameters")))
        .then(function (r) {
          return r.json();
        })
        .then(function (j) {
          var res = { entities: j.value };
          if (d.get("searchOnly") === false || d.get("type") === "searchandopenrecords") {
            var list = j.value;
            if (list.length === 1) {
              navigate({ pagetype: "entityrecord", etn: d.get("entityName"), id: list[0][meta[d.get("entityName")].id] });
            } else if (list.length > 1) {
              navigate({ pagetype: "search", etn: d.get("entityName"), q: "" });
            }
          }
          return res;
        });
    },
    createrecord: function (d) {
      var entity = d.get("entityName");
      return webApi("POST", setOf(entity), mapToObject(d.get("value"))).then(function (r) {
        return { entityType: entity, id: idFromHeader(r) };
      });
    },
    retrieverecord: function (d) {
      return webApi("GET", setOf(d.get("entityName")) + "(" + d.get("entityId") + ")" + options(d.get("queryParameters"))).then(function (r) {
        return r.json();
      });
    },
    updaterecord: function (d) {
      var entity = d.get("entityName");
      return webApi("PATCH", setOf(entity) + "(" + d.get("entityId") + ")", mapToObject(d.get("value"))).then(function () {
        return { entityType: entity, id: d.get("entityId") };
      });
    },
    deleterecord: function (d) {
      var entity = d.get("entityName");
      return webApi("DELETE", setOf(entity) + "(" + d.get("entityId") + ")").then(function () {
        return { entityType: entity, id: d.get("entityId") };
      });
    },
    openform: function (d) {
      var opts = JSON.parse(d.get("entityFormOptions"));
      var params = d.get("entityFormParameters");
      params = typeof params === "string" && params ? JSON.parse(params) : params || {};
      if (!opts.entityName) {
        throw { message: "entityFormOptions needs an entityName." };
      }
      if (opts.entityId) {
        navigate({ pagetype: "entityrecord", etn: opts.entityName, id: String(opts.entityId).replace(/[{}]/g, "").toLowerCase() });
        return Promise.resolve({ savedEntityReference: [] });
      }
      // A new record form: the double saves it at once with the parameters.
      return webApi("POST", setOf(opts.entityName), params).then(function (r) {
        var id = idFromHeader(r);
        navigate({ pagetype: "entityrecord", etn: opts.entityName, id: id });
        return { savedEntityReference: [{ entityType: opts.entityName, id: id, name: "" }] };
      });
    },
    refreshform: function () {
      render();
      return Promise.resolve({});
    },
    renderSearchPage: function (d) {
      navigate({ pagetype: "search", etn: d.get("entityName"), q: d.get("searchString") || "" });
      return Promise.resolve(null);
    },
    getenvironment: function () {
      var env = {};
      new URLSearchParams(location.search).forEach(function (v, k) {
        env[k] = v;
      });
      env.clientUrl = cfg.base;
      env.appUrl = cfg.base + "/main.aspx?appid=" + cfg.appId;
      env.orgLcid = 1033;
      env.orgUniqueName = cfg.org;
      env.orgId = cfg.orgId;
      env.userId = "{" + cfg.userId.toUpperCase() + "}";
      env.userLcid = 1033;
      env.username = cfg.userName;
      env.crmVersion = "9.2.25013.00000";
      env.customParams = "";
      return Promise.resolve(env);
    },
    getmode: function () {
      return Promise.resolve(state.mode);
    },
    setmode: function (d) {
      setMode(d.get("value"));
      return Promise.resolve(null);
    },
    getwidth: function () {
      return Promise.resolve(state.width);
    },
    setwidth: function (d) {
      var w = d.get("value");
      if (w >= 300) {
        if (w > window.innerWidth / 2) {
          setMode(0);
        } else if (w !== state.width) {
          state.width = w;
          panel.style.width = state.mode === 1 ? w + "px" : "";
          raise("onsizechanged", { value: w });
        }
      }
      return Promise.resolve(null);
    },
    setclicktoact: function (d) {
      state.clickToAct = !!d.get("value");
      return Promise.resolve(null);
    },
    getclicktoact: function () {
      return Promise.resolve(state.clickToAct);
    },
    getEntityMetadata: function (d) {
      var m = meta[d.get("entityName")];
      if (!m) {
        throw { message: "Entity " + d.get("entityName") + " not found." };
      }
      return Promise.resolve({ LogicalName: m.entity, EntitySetName: m.set, PrimaryIdAttribute: m.id, PrimaryNameAttribute: m.primary });
    },
  };
  ops.searchandopenrecords = function (d) {
    d.set("type", "searchandopenrecords");
    return ops.search(d);
  };
  var fireAndForget = { addGenericHandler: true, removeGenericHandler: true, onUserActivity: true, debugInformationEvent: true };

  window.addEventListener("message", function (ev) {
    var host;
    try {
      host = new URL(ev.origin).hostname;
    } catch (e) {
      return;
    }
    if (trustedHosts.indexOf(host) < 0 || !ev.source) {
      return;
    }
    var msg = ev.data;
    if (!msg || typeof msg !== "object" || !msg.messageType) {
      return;
    }
    var data = msg.messageData instanceof Map ? msg.messageData : new Map();
    if (msg.messageType === "CIF_Response") {
      report("eventResponse", mapToObject(msg.messageData), msg.messageOutcome);
      return;
    }
    if (fireAndForget[msg.messageType]) {
      if (msg.messageType !== "onUserActivity") {
        report(msg.messageType, mapToObject(data));
      }
      return;
    }
    var reply = function (outcome, payload, result) {
      ev.source.postMessage(
        { messageOutcome: outcome, messageData: payload, messageCorrelationId: msg.messageCorrelationId, messageType: "CIF_Response" },
        ev.origin
      );
      report(msg.messageType, mapToObject(data), outcome, result);
    };
    var op = ops[msg.messageType];
    if (!op) {
      reply("success", new Map([["message", "No handlers found to process the request."]]));
      return;
    }
    var p;
    try {
      p = Promise.resolve(op(data));
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then(
      function (v) {
        reply("success", new Map([["value", v]]), v);
      },
      function (e) {
        var m = new Map([["message", (e && e.message) || String(e)]]);
        if (e && e.errorCode) {
          m.set("errorCode", e.errorCode);
        }
        reply("failure", m, { message: m.get("message"), errorCode: m.get("errorCode") });
      }
    );
  });

  // Host events to the widget: the data is a JSON string.
  function raise(name, payload) {
    if (!frame.contentWindow || !widgetOrigin) {
      return false;
    }
    if (name === "onclicktoact" && !state.clickToAct) {
      report("raise:" + name, payload, "suppressed");
      return false;
    }
    frame.contentWindow.postMessage({ messageType: name, messageData: JSON.stringify(payload), messageCorrelationId: corr() }, widgetOrigin);
    report("raise:" + name, payload, "sent");
    return true;
  }

  function setMode(m) {
    if (m !== 0 && m !== 1 && m !== 2) {
      return;
    }
    if (m === state.mode) {
      return;
    }
    state.mode = m;
    panel.className = "panel " + (m === 1 ? "expanded" : "collapsed");
    panel.style.width = m === 1 && state.width !== 378 ? state.width + "px" : "";
    document.getElementById("cif-toggle").textContent = m === 1 ? "⟩" : "⟨";
    raise("onmodechanged", { value: m });
  }

  document.getElementById("cif-toggle").addEventListener("click", function () {
    setMode(state.mode === 1 ? 0 : 1);
  });

  // Navigation: a single page, so the panel (and its call) survives.
  function pageUrl(p) {
    var q = new URLSearchParams();
    q.set("appid", cfg.appId);
    Object.keys(p).forEach(function (k) {
      if (p[k] !== undefined && p[k] !== null) {
        q.set(k, p[k]);
      }
    });
    return "/main.aspx?" + q.toString();
  }

  function navigate(p) {
    var url = location.origin + pageUrl(p);
    raise("onpagenavigate", { value: url });
    history.pushState(p, "", url);
    render();
  }
  window.addEventListener("popstate", render);

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) {
      e.className = cls;
    }
    if (text !== undefined && text !== null) {
      e.textContent = String(text);
    }
    return e;
  }

  function recLink(entity, rec) {
    var m = meta[entity];
    var a = el("a", "rec", rec[m.primary] || "(no name)");
    a.href = pageUrl({ pagetype: "entityrecord", etn: entity, id: rec[m.id] });
    a.addEventListener("click", function (e) {
      e.preventDefault();
      navigate({ pagetype: "entityrecord", etn: entity, id: rec[m.id] });
    });
    return a;
  }

  function clickToAct(entity, field, value) {
    return raise("onclicktoact", { value: value, name: field, format: "phone", entityLogicalName: entity });
  }

  var hidden = /^(@|_.*@|documentbody$|phonecall_activity_parties$)/;

  function renderRecord(entity, id) {
    var m = meta[entity];
    if (!m) {
      main.replaceChildren(el("p", "empty", "Unknown entity " + entity));
      return;
    }
    webApi("GET", m.set + "(" + id + ")")
      .then(function (r) {
        return r.json();
      })
      .then(function (rec) {
        var frag = document.createDocumentFragment();
        frag.appendChild(el("h1", "", rec[m.primary] || "(no name)"));
        frag.appendChild(el("div", "kind", entity));
        var card = el("div", "card");
        var grid = el("div", "fields");
        Object.keys(rec)
          .sort()
          .forEach(function (k) {
            if (hidden.test(k) || k === m.id) {
              return;
            }
            grid.appendChild(el("div", "k", k));
            var v = el("div", "v", rec[k] === null ? "" : rec[k]);
            v.dataset.field = k;
            if (m.phones && m.phones.indexOf(k) >= 0 && rec[k]) {
              var b = el("button", "dial", "📞");
              b.type = "button";
              b.title = "Call " + rec[k];
              b.dataset.clicktoact = k;
              b.addEventListener("click", function () {
                clickToAct(entity, k, rec[k]);
              });
              v.appendChild(b);
            }
            grid.appendChild(v);
          });
        card.appendChild(grid);
        frag.appendChild(card);
        main.replaceChildren(frag);
        if (entity === "phonecall") {
          renderActivityExtras(id);
        }
      })
      .catch(function (e) {
        main.replaceChildren(el("p", "empty", e.message || String(e)));
      });
  }

  function renderActivityExtras(id) {
    fetch("/_cif/records?entity=phonecall")
      .then(function (r) {
        return r.json();
      })
      .then(function (list) {
        var rec = list.filter(function (x) {
          return x.activityid === id;
        })[0];
        if (!rec) {
          return;
        }
        var card = el("div", "card");
        card.appendChild(el("strong", "", "Parties"));
        (rec.phonecall_activity_parties || []).forEach(function (p) {
          var who = p["_partyid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] + " " + p._partyid_value;
          card.appendChild(el("div", "", (p.participationtypemask === 1 ? "From: " : "To: ") + who));
        });
        main.appendChild(card);
      });
    webApi("GET", "annotations?$select=subject,notetext,filename,mimetype,documentbody,isdocument&$filter=_objectid_value%20eq%20" + id)
      .then(function (r) {
        return r.json();
      })
      .then(function (j) {
        if (!j.value.length) {
          return;
        }
        var card = el("div", "card");
        card.appendChild(el("strong", "", "Notes"));
        j.value.forEach(function (n) {
          var d = el("div", "note");
          d.appendChild(el("div", "", n.subject));
          d.appendChild(el("div", "", n.notetext));
          if (n.isdocument && n.documentbody && /^audio\//.test(n.mimetype || "")) {
            var a = document.createElement("audio");
            a.controls = true;
            a.src = "data:" + n.mimetype + ";base64," + n.documentbody;
            d.appendChild(a);
          }
          card.appendChild(d);
        });
        main.appendChild(card);
      });
  }

  function renderTable(entity, rows, title) {
    var m = meta[entity];
    var frag = document.createDocumentFragment();
    frag.appendChild(el("h1", "", title));
    if (!rows.length) {
      frag.appendChild(el("p", "empty", "No records."));
      main.replaceChildren(frag);
      return;
    }
    var t = el("table");
    var head = el("tr");
    var cols = (m.phones || []).slice();
    [m.primary].concat(cols).forEach(function (c) {
      head.appendChild(el("th", "", c));
    });
    t.appendChild(head);
    rows.forEach(function (r) {
      var tr = el("tr");
      var td = el("td");
      td.appendChild(recLink(entity, r));
      tr.appendChild(td);
      cols.forEach(function (c) {
        tr.appendChild(el("td", "", r[c] || ""));
      });
      t.appendChild(tr);
    });
    frag.appendChild(t);
    main.replaceChildren(frag);
  }

  function render() {
    var q = new URLSearchParams(location.search);
    var pt = q.get("pagetype") || "dashboard";
    document.querySelectorAll(".sitemap a").forEach(function (a) {
      a.className = a.dataset.list === q.get("etn") ? "on" : "";
    });
    if (pt === "entityrecord" && q.get("etn") && q.get("id")) {
      renderRecord(q.get("etn"), q.get("id"));
    } else if (pt === "entitylist" && meta[q.get("etn")]) {
      webApi("GET", meta[q.get("etn")].set + "?$top=200")
        .then(function (r) {
          return r.json();
        })
        .then(function (j) {
          renderTable(q.get("etn"), j.value, q.get("etn") + " records");
        });
    } else if (pt === "search" && meta[q.get("etn")]) {
      fetch("/_cif/search?entity=" + encodeURIComponent(q.get("etn")) + "&q=" + encodeURIComponent(q.get("q") || ""))
        .then(function (r) {
          return r.json();
        })
        .then(function (rows) {
          renderTable(q.get("etn"), rows, "Search results for “" + (q.get("q") || "") + "”");
        });
    } else {
      var frag = document.createDocumentFragment();
      frag.appendChild(el("h1", "", "Sales dashboard"));
      frag.appendChild(el("p", "empty", "Open a record from the site map, or take a call in the panel."));
      main.replaceChildren(frag);
    }
  }

  document.querySelectorAll(".sitemap a").forEach(function (a) {
    a.addEventListener("click", function (e) {
      e.preventDefault();
      navigate({ pagetype: "entitylist", etn: a.dataset.list });
    });
  });

  var events = new EventSource("/_cif/events?tab=" + tab);
  events.onmessage = function (e) {
    var cmd = JSON.parse(e.data);
    if (cmd.raise) {
      raise(cmd.raise.name, cmd.raise.payload);
    }
    if (cmd.navigate) {
      navigate({ pagetype: "entityrecord", etn: cmd.navigate.etn, id: cmd.navigate.id });
    }
  };

  window.cifHost = {
    tab: tab,
    state: state,
    raise: raise,
    navigate: navigate,
    setMode: setMode,
    clickToAct: clickToAct,
  };

  ready().then(function () {
    if (!new URLSearchParams(location.search).get("pagetype")) {
      history.replaceState({}, "", pageUrl({ pagetype: "dashboard" }));
    }
    render();
    // Load the channel provider only once the host can answer it.
    if (cfg.widgetUrl) {
      frame.src = cfg.widgetUrl;
    }
    document.body.dataset.ready = "1";
  });
})();
