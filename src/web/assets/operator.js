// operator.js: keeps /operator live from the one event stream. The server's
// snapshot becomes one state object; deltas are merged into it by key, and
// every part of the page (table, minimap, Ouroboros, health, projects) is
// redrawn from that object with the same rules as src/web/operator.c. It
// never reads any other source: without it the page is one static version.
"use strict";

(function () {
  var STREAM = "/api/v1/stream", PROJECTION = "/api/v1/projection";
  var TABLE_ROWS = 200, MAP_PER_PROJECT = 120;
  var QUIET_MS = 60000, CHECK_MS = 30000, RENDER_DELAY_MS = 30;
  var RANK = { blocked: 0, running: 1, idle: 2, ended: 3 };
  var SVG = "http://www.w3.org/2000/svg";

  // --- pure logic: no DOM, no clock -------------------------------------

  // Byte order like the server's strcmp for the names and ids we see.
  function cmp(a, b) { return a < b ? -1 : a > b ? 1 : 0; }
  function text(v) { return v === null || v === undefined ? "" : String(v); }
  function isInt(v) { return typeof v === "number" && Math.floor(v) === v; }

  // Replaces entries of list by key with those of items, adds new ones and
  // keeps the list in key order (the snapshot's order). Returns a new array.
  function upsert(list, items, key) {
    if (!items || !items.length) return list;
    var out = list.slice(), at = new Map(), added = false;
    for (var i = 0; i < out.length; i++) at.set(out[i][key], i);
    for (var j = 0; j < items.length; j++) {
      var k = items[j][key];
      if (at.has(k)) out[at.get(k)] = items[j];
      else { at.set(k, out.length); out.push(items[j]); added = true; }
    }
    if (added) out.sort(function (a, b) { return cmp(a[key], b[key]); });
    return out;
  }

  // Merges one delta into state (mutating it) and returns it.
  function merge(state, d) {
    state.version = d.version;
    state.clock = d.clock;
    state.events = d.events;
    if (d.idle_after_ms !== undefined) state.idle_after_ms = d.idle_after_ms;
    state.projects = upsert(state.projects || [], d.projects, "name");
    state.sessions = upsert(state.sessions || [], d.sessions, "id");
    state.health = upsert(state.health || [], d.health, "name");
    if (d.ouroboros !== undefined) state.ouroboros = d.ouroboros;
    if (d.unrecognised !== undefined) state.unrecognised = d.unrecognised;
    return state;
  }

  function rank(s) { var r = RANK[s.status]; return typeof r === "number" ? r : 4; }

  // Sessions in the order people read them: blocked, running, idle, ended;
  // most recent first; then by id.
  function attentionOrder(sessions) {
    return sessions.slice().sort(function (a, b) {
      return rank(a) - rank(b) || (b.last_event_at || 0) - (a.last_event_at || 0) || cmp(a.id, b.id);
    });
  }

  // Like evhttp_encode_uri: everything but unreserved characters encoded.
  function sessionHref(id) {
    var enc = encodeURIComponent(text(id)).replace(/[!'()*]/g, function (c) {
      return "%" + c.charCodeAt(0).toString(16).toUpperCase();
    });
    return "/operator?session=" + enc + "#detail";
  }

  function ouroborosTexts(o) {
    o = o || {};
    var cur = o.current, last = o.last, rate = o.recent_success_permille, t = {};
    t.current = cur && typeof cur === "object" ? "#" + cur.cycle + " running" : "none running";
    if (last && typeof last === "object") {
      t.last = "#" + last.cycle + " " + text(last.outcome) + (last.note ? ": " + last.note : "");
    } else {
      t.last = "no cycle finished yet";
    }
    t.rate = isInt(rate) ? Math.trunc(rate / 10) + "% of the last " + text(o.recent) : "no data";
    return t;
  }

  // The facts of session_detail(), in its order.
  function detailFacts(s) {
    var cont = s.continuity || {}, lin = s.lineage || {}, launch = s.launch || {};
    var chain = cont.chain || [];
    var c = chain.length ? chain.join(" → ") + " → " + text(s.id) : "fresh start";
    if (cont.resumed_by) c += " (resumed by " + cont.resumed_by + ")";
    var l = text(lin.repository) + (lin.commit ? " @ " + lin.commit : "") +
      (lin.ticket ? " · ticket " + lin.ticket : "") +
      (lin.parent_session ? " · parent " + lin.parent_session : "");
    var lc = launch.component ? launch.component + ": " + text(launch.status) : "";
    return [["Status", text(s.status)], ["Continuity", c], ["Source lineage", l],
      ["Launch contract", lc], ["First tool family", text(s.first_tool_family)],
      ["Next step", text(s.next_step)]];
  }

  // Geometry of the minimap, as operator.c draws it.
  function minimapLayout(projects, sessions) {
    var names = projects.map(function (p) { return p.name; }).sort(cmp);
    var groups = [], at = new Map(), rows = 1;
    names.forEach(function (n, i) {
      at.set(n, i);
      groups.push({ name: n, x: i * 132, cells: [], count: 0, more: 0 });
    });
    sessions.slice().sort(function (a, b) { return cmp(a.id, b.id); }).forEach(function (s) {
      if (!at.has(s.project)) return;
      var g = groups[at.get(s.project)], k = g.count++;
      if (k < MAP_PER_PROJECT) g.cells.push({ x: (k % 10) * 12, y: 24 + Math.floor(k / 10) * 12, status: text(s.status) });
    });
    groups.forEach(function (g) {
      g.more = g.count > MAP_PER_PROJECT ? g.count - MAP_PER_PROJECT : 0;
      rows = Math.max(rows, Math.ceil(g.cells.length / 10));
    });
    return { width: Math.max(names.length, 1) * 132, height: 28 + rows * 12 + 8, groups: groups };
  }

  if (typeof module === "object" && module.exports) {
    module.exports = { upsert: upsert, merge: merge, attentionOrder: attentionOrder, sessionHref: sessionHref,
      ouroborosTexts: ouroborosTexts, detailFacts: detailFacts, minimapLayout: minimapLayout };
  }
  if (typeof document === "undefined" || typeof window.EventSource !== "function") return;

  // --- the page -----------------------------------------------------------

  var state = null, es = null, lastHeard = 0, checking = false, renderTimer = 0;
  var reopenTimer = 0, backoff = 2000;
  var want = new URLSearchParams(location.search).get("session");

  function $(id) { return document.getElementById(id); }

  function el(tag, cls, content) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (content !== undefined) e.textContent = content;
    return e;
  }

  function svg(tag, attrs, content) {
    var e = document.createElementNS(SVG, tag);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, String(attrs[k])); });
    if (content !== undefined) e.textContent = content;
    return e;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function setVersion(node) { if (node) node.setAttribute("data-version", String(state.version)); }

  function renderHealth() {
    var ul = $("health");
    if (!ul) return;
    var f = document.createDocumentFragment();
    (state.health || []).forEach(function (c) {
      var li = el("li");
      li.setAttribute("data-state", text(c.state));
      li.appendChild(el("span", "name", text(c.name)));
      li.appendChild(document.createTextNode(" "));
      li.appendChild(el("span", "state", text(c.state)));
      if (isInt(c.latency_ms)) {
        li.appendChild(document.createTextNode(" "));
        li.appendChild(el("span", "muted", c.latency_ms + " ms"));
      }
      if (c.detail) {
        li.appendChild(document.createTextNode(" "));
        li.appendChild(el("span", "detail", text(c.detail)));
      }
      f.appendChild(li);
    });
    if (!(state.health || []).length) {
      f.appendChild(el("li", "empty", "No health reports yet: components appear when their first health event arrives."));
    }
    clear(ul);
    ul.appendChild(f);
    setVersion(ul);
  }

  function renderSessions() {
    var table = $("sessions"), tbody = table && table.tBodies[0];
    if (!tbody) return;
    var all = state.sessions || [], rows = attentionOrder(all).slice(0, TABLE_ROWS);
    var f = document.createDocumentFragment();
    rows.forEach(function (s) {
      var tr = el("tr"), a = el("a", null, text(s.id)), td = el("td");
      tr.setAttribute("data-status", text(s.status));
      a.setAttribute("href", sessionHref(s.id));
      td.appendChild(a);
      tr.appendChild(td);
      tr.appendChild(el("td", null, text(s.project)));
      td = el("td");
      td.appendChild(el("span", "status", text(s.status)));
      tr.appendChild(td);
      tr.appendChild(el("td", null, text(s.harness)));
      tr.appendChild(el("td", null, text(s.first_tool_family)));
      tr.appendChild(el("td", null, text(s.next_step)));
      f.appendChild(tr);
    });
    if (!all.length) {
      var tr = el("tr", "empty"), td = el("td");
      td.setAttribute("colspan", "6");
      td.appendChild(document.createTextNode("No sessions yet. Producers post to /api/v1/events; "));
      td.appendChild(el("code", null, "portal emit"));
      td.appendChild(document.createTextNode(" appends from a shell."));
      tr.appendChild(td);
      f.appendChild(tr);
    }
    clear(tbody);
    tbody.appendChild(f);
    setVersion(table);
    var count = $("sessions-count");
    if (count) count.textContent = "Showing " + rows.length + " of " + all.length + " sessions, those needing attention first.";
  }

  function renderDetail() {
    var sec = $("detail");
    if (!sec || want === null) return;
    var h = $("detail-h"), s = null, all = state.sessions || [];
    for (var i = 0; i < all.length; i++) if (all[i].id === want) { s = all[i]; break; }
    while (sec.lastChild && sec.lastChild !== h) sec.removeChild(sec.lastChild);
    if (!s) {
      sec.appendChild(el("p", null, "This session is not in the projection (yet). It appears with its first event."));
    } else {
      var dl = el("dl", "facts");
      detailFacts(s).forEach(function (kv) {
        dl.appendChild(el("dt", null, kv[0]));
        dl.appendChild(el("dd", null, kv[1] ? kv[1] : "—"));
      });
      sec.appendChild(dl);
    }
    setVersion(sec);
  }

  function renderMinimap() {
    var map = $("minimap");
    if (!map) return;
    var m = minimapLayout(state.projects || [], state.sessions || []);
    var f = document.createDocumentFragment();
    m.groups.forEach(function (g) {
      var ge = svg("g", { transform: "translate(" + g.x + " 0)", "data-project": g.name });
      ge.appendChild(svg("text", { x: 0, y: 14, "class": "label" }, g.name));
      g.cells.forEach(function (c) {
        ge.appendChild(svg("rect", { x: c.x, y: c.y, width: 10, height: 10, "class": c.status }));
      });
      if (g.more) ge.appendChild(svg("text", { x: 0, y: m.height - 2, "class": "more" }, "+" + g.more));
      f.appendChild(ge);
    });
    clear(map);
    map.appendChild(f);
    map.setAttribute("viewBox", "0 0 " + m.width + " " + m.height);
    map.setAttribute("width", String(m.width));
    map.setAttribute("height", String(m.height));
    setVersion(map);
  }

  function renderOuroboros() {
    var dl = $("ouroboros");
    if (!dl) return;
    var t = ouroborosTexts(state.ouroboros);
    ["current", "last", "rate"].forEach(function (k) {
      var dd = dl.querySelector('dd[data-field="' + k + '"]');
      if (dd) dd.textContent = t[k];
    });
    setVersion(dl);
  }

  function renderProjects() {
    var table = $("projects"), tbody = table && table.tBodies[0];
    if (!tbody) return;
    var f = document.createDocumentFragment();
    (state.projects || []).forEach(function (p) {
      var tr = el("tr"), td = el("td"), stage = el("span", "stage", text(p.stage));
      tr.appendChild(el("td", null, text(p.name)));
      stage.setAttribute("data-stage", text(p.stage));
      td.appendChild(stage);
      tr.appendChild(td);
      tr.appendChild(el("td", null, text(p.needs)));
      tr.appendChild(el("td", null, String(isInt(p.sessions) ? p.sessions : 0)));
      f.appendChild(tr);
    });
    clear(tbody);
    tbody.appendChild(f);
    setVersion(table);
  }

  // Every part from the same state object, so every data-version agrees.
  function render() {
    renderTimer = 0;
    if (!state) return;
    renderHealth();
    renderSessions();
    renderDetail();
    renderMinimap();
    renderOuroboros();
    renderProjects();
    var v = $("version");
    if (v) v.textContent = "v" + state.version;
  }

  // Messages can come in bursts: merge each at once, draw once per burst.
  function scheduleRender() {
    if (!renderTimer) renderTimer = setTimeout(render, RENDER_DELAY_MS);
  }

  function setFreshness(kind, label) {
    var badge = $("freshness"), t = $("freshness-text");
    if (badge) badge.setAttribute("data-freshness", kind);
    if (t && t.textContent !== label) t.textContent = label;
  }

  function heard() {
    lastHeard = Date.now();
    backoff = 2000;
    setFreshness("live", "live");
  }

  function onSnapshot(e) {
    var next;
    try { next = JSON.parse(e.data); } catch (err) { return reopen("stale", "stale: reconnecting"); }
    state = next;
    heard();
    scheduleRender();
  }

  function onDelta(e) {
    var d;
    try { d = JSON.parse(e.data); } catch (err) { return reopen("stale", "stale: reconnecting"); }
    // A fresh stream always starts with a snapshot; a delta without one
    // has nothing to merge into, so ask for a snapshot again.
    if (!state) return reopen("reconnecting", "reconnecting…");
    heard();
    if (typeof d.version === "number" && d.version <= state.version) return;
    merge(state, d);
    scheduleRender();
  }

  function onError() {
    if (!es) return;
    if (!navigator.onLine || es.readyState === EventSource.CLOSED) setFreshness("offline", "offline");
    else setFreshness("reconnecting", "reconnecting…");
    // The browser retries by itself while CONNECTING; once CLOSED it has
    // given up (an error status), so try again later, more slowly each time.
    if (es.readyState === EventSource.CLOSED && !reopenTimer) {
      reopenTimer = setTimeout(function () { reopenTimer = 0; open(); }, backoff);
      backoff = Math.min(backoff * 2, 60000);
    }
  }

  function open() {
    if (es) es.close();
    es = new EventSource(STREAM);
    lastHeard = Date.now();
    es.addEventListener("snapshot", onSnapshot);
    es.addEventListener("delta", onDelta);
    es.addEventListener("error", onError);
    es.addEventListener("open", function () {
      // A resumed stream that is already current sends nothing: still live.
      lastHeard = Date.now();
      if (state) setFreshness("live", "live");
    });
  }

  function reopen(kind, label) {
    setFreshness(kind, label);
    if (reopenTimer) { clearTimeout(reopenTimer); reopenTimer = 0; }
    open();
  }

  // A quiet stream may be a healthy quiet system or a dead connection: ask
  // the server whether it has a newer version than the one we show.
  function check() {
    if (!es || checking) return;
    if (!navigator.onLine) return setFreshness("offline", "offline");
    if (es.readyState !== EventSource.OPEN || !state) return;
    if (Date.now() - lastHeard < QUIET_MS || !window.fetch) return;
    var asked = state.version;
    checking = true;
    fetch(PROJECTION, { headers: { "If-None-Match": '"v' + asked + '"', Accept: "application/json" },
      cache: "no-store", credentials: "same-origin" })
      .then(function (r) {
        checking = false;
        if (r.body && r.body.cancel) r.body.cancel().catch(function () {});
        if (r.status === 304) {
          if (es && es.readyState === EventSource.OPEN) setFreshness("live", "live");
        } else if (r.status === 200 && state && state.version === asked) {
          reopen("stale", "stale: reconnecting");
        }
      })
      .catch(function () { checking = false; });
  }

  function start() {
    open();
    setInterval(check, CHECK_MS);
    window.addEventListener("offline", function () { setFreshness("offline", "offline"); });
    window.addEventListener("online", function () {
      if (!es || es.readyState === EventSource.CLOSED) reopen("reconnecting", "reconnecting…");
      else if (es.readyState === EventSource.CONNECTING) setFreshness("reconnecting", "reconnecting…");
      else if (state) setFreshness("live", "live");
    });
    // Leaving the page closes the stream cleanly; coming back from the
    // back/forward cache opens a new one (which starts with a snapshot).
    window.addEventListener("pagehide", function () { if (es) { es.close(); es = null; } });
    window.addEventListener("pageshow", function (e) { if (e.persisted) reopen("reconnecting", "reconnecting…"); });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
