// Hierophant dashboard: renders the snapshots the hierophant pushes by server-sent events
// (/dashboard/events, hierophant/dashboard/events.py). No framework, no build step, nothing
// from elsewhere. Every value from the server goes into the page as text, never as HTML.
"use strict";

(function () {
  var view = document.body.getAttribute("data-view");
  var last = null;          // the newest snapshot
  var receivedAt = 0;       // performance.now() when it came
  // For people and tests: when this page was loaded, and how many snapshots it has shown.
  window.hierophantDashboard = { loadedAt: Date.now(), updates: 0 };

  // ---- small helpers ---------------------------------------------------------------------
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function add(parent) {
    for (var i = 1; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined) continue;
      parent.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return parent;
  }
  function dur(secs) {
    if (secs === null || secs === undefined) return "—";
    secs = Math.max(0, Math.round(secs));
    var h = Math.floor(secs / 3600), m = Math.floor((secs % 3600) / 60), s = secs % 60;
    if (h) return h + "h " + String(m).padStart(2, "0") + "m";
    if (m) return m + "m " + String(s).padStart(2, "0") + "s";
    return s + "s";
  }
  function cycles(n) {
    if (n === null || n === undefined) return "—";
    if (n >= 1e9) return (n / 1e9).toFixed(2) + " G";
    if (n >= 1e6) return (n / 1e6).toFixed(1) + " M";
    if (n >= 1e3) return (n / 1e3).toFixed(1) + " k";
    return String(n);
  }
  function bytes(n) {
    if (n === null || n === undefined) return "—";
    var units = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return n.toFixed(i ? 1 : 0) + " " + units[i];
  }
  function clock(ts) {
    if (!ts) return "—";
    var d = new Date(ts * 1000);
    var same = d.toDateString() === new Date().toDateString();
    return same ? d.toLocaleTimeString() : d.toLocaleString();
  }
  function rid(id, short) {
    var a = el("a", "rid", short ? id.slice(0, 10) + "…" + id.slice(-6) : id);
    a.href = "/dashboard/requests/" + id;
    a.title = id;
    return a;
  }
  function badge(text, kind) { return el("span", "badge " + (kind || String(text).toLowerCase()), text); }
  function eta(secs, cls) {
    // counts down between snapshots (tick() below); "—" while unknown
    var e = el("span", "eta" + (cls ? " " + cls : ""));
    if (secs === null || secs === undefined) { e.textContent = "—"; e.title = "no estimate yet: this worker has not finished a proof of this mode"; }
    else {
      e.setAttribute("data-eta", secs);
      e.textContent = dur(secs);
      e.title = "done at about " + new Date(Date.now() + secs * 1000).toLocaleTimeString();
    }
    return e;
  }
  function bar(progress, phase) {
    var wrap = el("div", "bar");
    var fill = el("div", "fill");
    var p = progress === null || progress === undefined ? 0 : Math.max(0, Math.min(100, progress));
    fill.style.width = p + "%";
    if (progress === null || progress === undefined) wrap.classList.add("unknown");
    add(wrap, fill, el("span", "bar-label", (phase || "assigned") + (progress === null || progress === undefined ? "" : " " + Math.round(p) + "%")));
    return wrap;
  }
  function row(cells, labels) {
    var tr = el("tr");
    cells.forEach(function (c, i) {
      var td = el("td");
      if (labels) td.setAttribute("data-label", labels[i]);
      if (c instanceof Node) td.appendChild(c); else td.textContent = c === null || c === undefined ? "—" : String(c);
      tr.appendChild(td);
    });
    return tr;
  }
  function fill(tableId, rows, empty) {
    var table = document.getElementById(tableId);
    var body = table.tBodies[0];
    var labels = Array.prototype.map.call(table.tHead.rows[0].cells, function (c) { return c.textContent; });
    body.replaceChildren();
    if (!rows.length) {
      var tr = el("tr", "empty"), td = el("td", null, empty);
      td.colSpan = labels.length;
      body.appendChild(add(tr, td));
      return;
    }
    rows.forEach(function (cells) { body.appendChild(row(cells, labels)); });
  }
  function setText(id, text) { var e = document.getElementById(id); if (e) e.textContent = text; }

  // ---- the fleet ---------------------------------------------------------------------------
  function renderFleet(s) {
    var c = s.counts;
    var cards = document.getElementById("counts");
    cards.replaceChildren();
    [["queued", c.queued], ["running", c.running], ["workers", c.connected + " / " + c.workers],
     ["slots", c.slots], ["GPUs", c.gpus]].forEach(function (kv) {
      add(cards, add(el("div", "card"), el("div", "num", kv[1]), el("div", "what", kv[0])));
    });
    setText("running-count", s.running.length);
    setText("queue-count", c.queued > s.queue.length ? s.queue.length + " of " + c.queued : s.queue.length);
    setText("workers-count", s.workers.length);

    var running = document.getElementById("running");
    running.replaceChildren();
    if (!s.running.length) running.appendChild(el("p", "empty", "Nothing is being proven."));
    s.running.forEach(function (j) {
      var card = el("div", "job");
      add(card,
        add(el("div", "job-id"), rid(j.request_id)),
        add(el("div", "job-meta"),
          add(el("span", "worker"), "on ", el("strong", null, j.worker_name)),
          el("span", "mode", j.proof_mode), el("span", null, "attempt " + j.attempt),
          el("span", null, "cycles " + cycles(j.cycles)),
          el("span", null, "running " + dur(j.elapsed_secs))),
        add(el("div", "job-progress"), bar(j.progress, j.phase),
          add(el("span", "job-eta"), "ETA ", eta(j.eta_secs))));
      running.appendChild(card);
    });

    fill("queue", s.queue.map(function (q) {
      return [q.position, rid(q.request_id, true), q.proof_mode + " " + q.circuit_version, q.execution,
              cycles(q.cycles), dur(q.waiting_secs), eta(q.eta_secs)];
    }), "The queue is empty.");

    var workers = document.getElementById("workers");
    workers.replaceChildren();
    if (!s.workers.length) workers.appendChild(el("p", "empty", "No worker has connected."));
    s.workers.forEach(function (w) { workers.appendChild(workerCard(w)); });

    fill("history", s.history.map(function (h) {
      return [clock(h.finished_at), rid(h.request_id, true), h.worker_name || h.worker_id, h.proof_mode,
              add(el("span"), badge(h.outcome), h.detail ? el("span", "detail", " " + h.detail) : null),
              h.checked ? badge(h.checked, "checked") : "—", dur(h.duration_secs), cycles(h.cycles)];
    }), "No proof has finished yet.");

    fill("failures", s.failures.map(function (f) {
      return [clock(f.failed_at), rid(f.request_id, true), f.proof_mode, el("span", "reason", f.failure || "no reason recorded")];
    }), "No request has failed.");
  }

  function workerCard(w) {
    var card = el("div", "worker-card" + (w.connected ? "" : " gone"));
    var state = !w.connected ? badge("disconnected", "bad") : w.draining ? badge("draining", "warn") :
      w.slots.some(function (x) { return x.request_id; }) ? badge("busy", "busy") : badge("idle", "idle");
    add(card, add(el("div", "worker-head"), el("strong", "worker-name", w.name), state));
    add(card, el("div", "worker-sub", w.modes.join(" · ") + "  ·  " + w.circuit_versions.join(", ")));
    var slots = el("div", "slots");
    w.slots.forEach(function (x) {
      var sl = el("div", "slot" + (x.request_id ? " busy" : ""));
      add(sl, el("span", "slot-n", "slot " + x.slot));
      if (x.request_id) add(sl, rid(x.request_id, true), bar(x.progress, x.phase), add(el("span", "job-eta"), "ETA ", eta(x.eta_secs)));
      else add(sl, w.connected ? el("span", "free", "free") : el("span", "muted", "offline"));
      slots.appendChild(sl);
    });
    card.appendChild(slots);
    if (w.gpus.length) {
      var gpus = el("div", "gpus");
      w.gpus.forEach(function (g) {
        var parts = [g.name || "GPU " + g.index];
        if (g.utilization_percent !== null && g.utilization_percent !== undefined) parts.push(g.utilization_percent + "%");
        if (g.memory_total_bytes) parts.push(bytes(g.memory_used_bytes) + " / " + bytes(g.memory_total_bytes));
        if (g.temperature_c !== null && g.temperature_c !== undefined) parts.push(g.temperature_c + "°C");
        if (g.power_watts !== null && g.power_watts !== undefined) parts.push(Math.round(g.power_watts) + " W");
        gpus.appendChild(el("div", "gpu", parts.join(" · ")));
      });
      card.appendChild(gpus);
    } else {
      card.appendChild(el("div", "gpus none", "no GPU reported" + (w.cpus ? " · " + w.cpus + " CPUs" : "")));
    }
    var rates = Object.keys(w.rates);
    var foot = el("div", "worker-foot");
    add(foot, el("span", null, w.num_completed_proofs + (w.num_completed_proofs === 1 ? " proof" : " proofs")),
      w.strikes ? el("span", "warn-text", w.strikes + " strikes") : null,
      el("span", null, "heartbeat " + dur(w.last_heartbeat_secs_ago) + " ago"));
    rates.forEach(function (m) {
      var r = w.rates[m];
      var text = m + " ≈ " + (r.secs_per_mcycle ? dur(r.fixed_secs) + " + " + r.secs_per_mcycle.toFixed(3) + " s/Mcycle" : dur(r.mean_secs));
      foot.appendChild(el("span", "rate", text));
    });
    card.appendChild(foot);
    return card;
  }

  // ---- one request -----------------------------------------------------------------------
  function renderRequest(s) {
    var r = s.request;
    setText("request-id", r.request_id);
    document.title = "Hierophant · " + r.request_id.slice(0, 10) + "…";
    var status = document.getElementById("request-status");
    status.replaceChildren();
    add(status, badge(r.fulfillment), " ", badge(r.execution, "exec"), " ",
      el("span", null, r.proof_mode + " · " + r.circuit_version),
      r.worker_name ? add(el("span", "worker"), " · on ", el("strong", null, r.worker_name)) : null);
    var prog = document.getElementById("request-progress");
    prog.replaceChildren();
    if (r.fulfillment === "ASSIGNED") {
      add(prog, bar(r.progress, r.phase), add(el("div", "job-eta big"), "ETA ", eta(r.eta_secs),
        el("span", "muted", "  ·  running " + dur(r.elapsed_secs))));
    } else if (r.fulfillment === "REQUESTED") {
      add(prog, add(el("div", "job-eta big"), "queued · ETA ", eta(r.eta_secs)));
    } else if (r.failure) {
      add(prog, el("div", "reason big", r.failure));
    }
    var dl = document.getElementById("request-details");
    dl.replaceChildren();
    [["requester", r.requester || "— (unsigned request)"], ["vk hash", r.vk_hash], ["cycles", r.cycles === null ? "—" : r.cycles.toLocaleString()],
     ["requested", clock(r.created_at)], ["deadline", clock(r.deadline)], ["attempt", r.attempt],
     ["attempts failed", r.attempts_failed], ["infrastructure retries", r.infra_retries],
     ["fulfilled", r.fulfilled_at ? clock(r.fulfilled_at) : "—"]].forEach(function (kv) {
      add(dl, el("dt", null, kv[0]), el("dd", kv[0] === "requester" || kv[0] === "vk hash" ? "mono" : null, kv[1]));
    });
    var tl = document.getElementById("timeline");
    tl.replaceChildren();
    s.timeline.forEach(function (e) {
      var li = el("li", "ev " + e.event + (e.outcome ? " " + e.outcome : ""));
      add(li, el("time", null, e.at ? clock(e.at) : ""), el("span", "what", e.text));
      if (e.duration_secs !== undefined) li.appendChild(el("span", "muted", " · " + dur(e.duration_secs)));
      if (e.checked) li.appendChild(badge(e.checked, "checked"));
      tl.appendChild(li);
    });
  }

  // ---- live ------------------------------------------------------------------------------
  function tick() {
    if (!last) return;
    var gone = (performance.now() - receivedAt) / 1000;
    document.querySelectorAll("[data-eta]").forEach(function (e) {
      var left = parseFloat(e.getAttribute("data-eta")) - gone;
      e.textContent = left > 0 ? dur(left) : "any moment";
    });
  }
  function setLive(ok, text) {
    var e = document.getElementById("live");
    e.className = "live " + (ok ? "on" : "off");
    e.textContent = text;
  }
  function connect() {
    var url = "/dashboard/events";
    if (view === "request") url += "?request=" + encodeURIComponent(location.pathname.split("/").pop());
    var source = new EventSource(url);
    source.addEventListener("snapshot", function (ev) {
      last = JSON.parse(ev.data);
      receivedAt = performance.now();
      if (view === "request") renderRequest(last); else renderFleet(last);
      window.hierophantDashboard.updates += 1;
      setLive(true, "live · " + new Date(last.now * 1000).toLocaleTimeString());
    });
    source.addEventListener("gone", function () {
      source.close();
      setLive(false, "this request is gone (deleted by retention?)");
    });
    source.addEventListener("problem", function (ev) { setLive(false, JSON.parse(ev.data).error); });
    source.onerror = function () { setLive(false, "reconnecting…"); };
  }
  setInterval(tick, 1000);
  connect();
})();
