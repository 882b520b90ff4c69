/*
 * The edgesplit dashboard. It subscribes over MQTT websockets (mqtt.js, loaded before this file)
 * to the pipeline's retained status, per-window stats, annotated frames, results and plans, and
 * shows each device (frame rate against its goal, split over time, latency, losses, CPU on the
 * device and in the cloud, the fleet planner's split for it, the last frame), each worker
 * (online, splits served, load, CPU capacity and use) and each planner (leader or standby, what
 * it planned).
 *
 * The broker: ?url=ws://HOST:PORT (&user=U&password=P), or the form on the page; by default the
 * broker that served the page (ws:// for http://, wss:// for https://).
 *
 * A device, worker or planner is offline when its status says so (its own last message, or the
 * will the broker publishes for it) and also when its stats stop for STALE_WINDOWS of its
 * windows. The state shows in each card's and row's data-state attribute ("online" or
 * "offline", with data-why "status", "silent" or "unknown"); each chart keeps its number of
 * samples in data-samples. A device card's data-plan is "fresh", "stale" (not published again
 * within its ttl_ms), "cleared" (an empty retained plan) or "none", with the planned split in
 * data-plan-split; a planner row's data-role is "leader" or "standby" while it is online; a
 * worker row's data-saturated is "true" or "false".
 *
 * Members that older programs do not send show as a dash, or not at all.
 */
(function () {
  "use strict";

  const TOPICS = ["pipeline/status/+", "pipeline/stats/+", "pipeline/frames/+",
    "pipeline/results/+", "pipeline/plan/+"];
  /* a login that may not read these still sees the rest (a broker set up before plans) */
  const OPTIONAL_TOPICS = new Set(["pipeline/plan/+"]);
  const STALE_WINDOWS = 3;   /* windows without stats before a client counts as offline */
  const STALE_SLACK_MS = 500; /* on top of them: delivery and rendering jitter */
  const SPAN_MS = 180000;    /* the charts show at most this much time */
  const MIN_SPAN_MS = 10000; /* and at least this much */
  const MAX_SAMPLES = 600;   /* per device, whatever the window */
  const RENDER_MS = 500;
  const SVG_NS = "http://www.w3.org/2000/svg";
  const W = 300, H = 96, PAD_L = 26, PAD_R = 38, PAD_T = 8, PAD_B = 14;

  const devices = new Map(); /* id -> device record, see device() */
  const workers = new Map(); /* id -> worker record, see worker() */
  const planners = new Map(); /* id -> planner record, see planner() */
  const plans = new Map();   /* device id -> { plan, at, cleared }, see onPlan() */
  const decoder = new TextDecoder();
  let client = null;
  let hideOffline = false;

  const now = () => performance.now();
  const $ = (root, sel) => root.querySelector(sel);
  const num = (v) => (typeof v === "number" && isFinite(v) ? v : null);
  const fmt = (v, digits) => (num(v) === null ? "–" : v.toFixed(digits));
  const withUnit = (v, digits, unit) => (num(v) === null ? "–" : `${v.toFixed(digits)} ${unit}`);

  /* --- state kept per client ----------------------------------------------------------------- */

  function device(id) {
    let d = devices.get(id);
    if (!d) {
      d = {
        id, status: null, statusAt: 0, stats: null, statsAt: 0, samples: [], results: 0,
        totals: { fallback: 0, retried: 0, duplicates: 0, dropped: 0, skipped: 0 },
        framePending: null, frameShown: null, frameAt: 0, seenAt: 0, card: null,
      };
      devices.set(id, d);
    }
    return d;
  }

  function worker(id) {
    let w = workers.get(id);
    if (!w) {
      w = { id, status: null, statusAt: 0, stats: null, statsAt: 0, row: null };
      workers.set(id, w);
    }
    return w;
  }

  function planner(id) {
    let p = planners.get(id);
    if (!p) {
      p = { id, status: null, statusAt: 0, stats: null, statsAt: 0, row: null };
      planners.set(id, p);
    }
    return p;
  }

  /* Online or offline, and why: the client's status said so, or its stats (or, for a worker
   * that repeats its status every every_ms, its status) stopped for STALE_WINDOWS periods. */
  function liveness(c, periodS, t) {
    const st = c.status ? c.status.state : null;
    if (st === "offline" && c.statusAt >= c.statsAt) {
      const since = c.statusRetained ? undefined : t - c.statusAt;
      return { state: "offline", why: "status", since };
    }
    const last = Math.max(c.statsAt, c.status && c.status.every_ms ? c.statusAt : 0);
    if (last && periodS && t - last > STALE_WINDOWS * periodS * 1000 + STALE_SLACK_MS)
      return { state: "offline", why: "silent", since: t - last };
    if (st === "online" || c.statsAt) return { state: "online", why: "" };
    /* no status or stats yet (a broker that keeps no retained status): results mean online */
    if (c.seenAt && t - c.seenAt < 10000) return { state: "online", why: "" };
    return { state: "offline", why: "unknown" };
  }

  /* A device's period: the longest of its last windows (its final window before it stops is
   * short, and stats arrive with some jitter). */
  function devicePeriod(d) {
    let p = 0;
    for (const s of d.samples.slice(-3)) p = Math.max(p, s.window);
    return p;
  }

  function workerPeriod(w) {
    const every = w.status && num(w.status.every_ms);
    if (every && w.statusAt >= w.statsAt) return every / 1000;
    return w.stats ? num(w.stats.window_s) : null;
  }

  /* --- messages ------------------------------------------------------------------------------ */

  function parse(payload) {
    try {
      const v = JSON.parse(decoder.decode(payload));
      return v && typeof v === "object" && !Array.isArray(v) ? v : null;
    } catch (e) {
      return null; /* an empty retained message (cleared), or not ours */
    }
  }

  /* A retained message is the broker's copy, of unknown age; the others just happened. */
  function onMessage(topic, payload, packet) {
    const parts = topic.split("/");
    if (parts.length !== 3 || parts[0] !== "pipeline" || !parts[2]) return;
    const id = parts[2], t = now();
    switch (parts[1]) {
      case "status": return onStatus(id, parse(payload), t, Boolean(packet && packet.retain));
      case "stats": return onStats(id, parse(payload), t);
      case "frames": return onFrame(id, payload, t);
      case "results": return onResult(id, t);
      case "plan": return onPlan(id, payload, t);
      default: return undefined;
    }
  }

  function onStatus(id, s, t, retained) {
    if (!s || (s.state !== "online" && s.state !== "offline")) return;
    let c;
    if (s.role === "worker") c = worker(id);
    else if (s.role === "edge") c = device(id);
    else if (s.role === "planner") c = planner(id);
    else return; /* viewers, tools: not shown */
    c.status = s;
    c.statusAt = t;
    c.statusRetained = retained;
  }

  function onStats(id, s, t) {
    if (!s) return;
    if (s.role === "worker" || s.role === "planner") {
      const c = s.role === "worker" ? worker(id) : planner(id);
      c.stats = s;
      c.statsAt = t;
      return;
    }
    if (s.role !== undefined) return; /* a kind of client this page does not know */
    const d = device(id);
    d.stats = s;
    d.statsAt = t;
    d.samples.push({
      t, fps: num(s.fps) || 0, split: num(s.split), goal: num(s.goal),
      window: num(s.window_s) || 0,
    });
    while (d.samples.length > MAX_SAMPLES || (d.samples.length && t - d.samples[0].t > SPAN_MS * 2))
      d.samples.shift();
    const tot = d.totals, dr = s.dropped || {};
    tot.fallback += num(s.fallback) || 0;
    tot.retried += num(s.retried) || 0;
    tot.duplicates += num(s.duplicates) || 0;
    tot.dropped += (num(dr.buffer_full) || 0) + (num(dr.io) || 0) + (num(dr.error) || 0);
    tot.skipped += num(s.skipped) || 0;
  }

  function onResult(id, t) {
    const d = device(id);
    d.results++;
    d.seenAt = t;
  }

  /* The fleet planner's split for device id. An empty (retained) message clears it. Plans are
   * kept apart from the devices: a retained plan of a device that never announces itself makes
   * no card. */
  function onPlan(id, payload, t) {
    if (!payload || !payload.length) {
      const p = plans.get(id);
      plans.set(id, { plan: p ? p.plan : null, at: t, cleared: true });
      return;
    }
    const s = parse(payload);
    if (!s || num(s.split) === null) return; /* not a plan */
    plans.set(id, { plan: s, at: t, cleared: false });
  }

  /* The JPEG becomes a Blob URL; the one it replaces is released once the new one shows. */
  function onFrame(id, payload, t) {
    const d = device(id);
    if (d.framePending && d.framePending !== d.frameShown) URL.revokeObjectURL(d.framePending);
    d.framePending = URL.createObjectURL(new Blob([payload], { type: "image/jpeg" }));
    d.frameAt = t;
    d.seenAt = t;
  }

  /* --- small DOM helpers --------------------------------------------------------------------- */

  function setText(root, sel, text) {
    const el = $(root, sel);
    if (el.textContent !== text) el.textContent = text;
  }

  /* Fills el with "label value" items separated by dots; an item [label, value, cls] marks its
   * value with the class cls (warn, bad) when cls is given. */
  function fillItems(el, items) {
    el.replaceChildren();
    items.forEach(([label, value, cls], i) => {
      if (i) el.append(" · ");
      const b = document.createElement("b");
      b.textContent = String(value);
      if (cls) b.className = cls;
      el.append(label ? label + " " : "", b);
    });
  }

  function svgEl(parent, tag, attrs, text) {
    const el = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    if (text !== undefined) el.textContent = text;
    parent.appendChild(el);
    return el;
  }

  /* The smallest of 1, 2, 5 times a power of ten at or above v. */
  function niceCeil(v) {
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  /* --- charts -------------------------------------------------------------------------------- */

  /* The time axis of a chart: from its oldest sample (at most SPAN_MS back, at least
   * MIN_SPAN_MS) to now, so that a chart is filled as soon as it has data. */
  function timeAxis(shown, t) {
    const from = shown.length ? Math.min(shown[0].t, t - MIN_SPAN_MS) : t - MIN_SPAN_MS;
    const span = t - from;
    return { span, x: (sampleT) => W - PAD_R - ((t - sampleT) / span) * (W - PAD_L - PAD_R) };
  }

  /* An empty chart with a y scale from lo to hi, labels for both ends and the time span;
   * returns y(). */
  function chartFrame(svg, lo, hi, loLabel, hiLabel, spanMs) {
    svg.replaceChildren();
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    const y = (v) => PAD_T + (1 - (v - lo) / (hi - lo)) * (H - PAD_T - PAD_B);
    svgEl(svg, "line", { x1: PAD_L, x2: W - PAD_R, y1: y(lo), y2: y(lo), class: "axis" });
    svgEl(svg, "line", { x1: PAD_L, x2: W - PAD_R, y1: y(hi), y2: y(hi), class: "grid" });
    svgEl(svg, "text", { x: PAD_L - 4, y: y(hi) + 4, class: "tick" }, hiLabel);
    svgEl(svg, "text", { x: PAD_L - 4, y: y(lo) + 4, class: "tick" }, loLabel);
    svgEl(svg, "text", { x: PAD_L, y: H - 2, class: "time" }, `-${Math.round(spanMs / 1000)} s`);
    svgEl(svg, "text", { x: W - PAD_R, y: H - 2, class: "tick" }, "now");
    return y;
  }

  /* Whether sample i starts a new piece of line: the first one, or one after a gap of more
   * than two windows (the device was stopped or cut off). */
  function gap(shown, i) {
    if (i === 0) return true;
    const period = Math.max(shown[i].window, shown[i - 1].window, 0.5) * 1000;
    return shown[i].t - shown[i - 1].t > 2.5 * period;
  }

  function drawFps(svg, samples, t) {
    const shown = samples.filter((p) => t - p.t <= SPAN_MS);
    const last = shown[shown.length - 1], axis = timeAxis(shown, t);
    let top = 1;
    for (const p of shown) top = Math.max(top, p.fps, p.goal || 0);
    top = niceCeil(top * 1.1);
    const y = chartFrame(svg, 0, top, "0", String(top), axis.span);
    if (last && last.goal !== null) {
      svgEl(svg, "line", { x1: PAD_L, x2: W - PAD_R, y1: y(last.goal), y2: y(last.goal),
        class: "goal" });
      /* the label goes under the axis, where no line crosses it */
      svgEl(svg, "text", { x: (PAD_L + W - PAD_R) / 2, y: H - 2, class: "goal-label" },
        `- - goal ${last.goal}`);
    }
    const d = shown.map((p, i) => `${gap(shown, i) ? "M" : "L"}${axis.x(p.t).toFixed(1)},` +
      `${y(p.fps).toFixed(1)}`);
    svgEl(svg, "path", { d: d.join(" "), class: "line fps" });
    if (last)
      svgEl(svg, "text", { x: W - PAD_R + 4, y: Math.min(y(last.fps) + 4, H - PAD_B),
        class: "value" }, fmt(last.fps, 1));
    svg.dataset.samples = String(shown.length);
  }

  /* The split as a step line from 1 to the number of stages minus one (all local but the last). */
  function drawSplit(svg, samples, t, nstages) {
    const shown = samples.filter((p) => t - p.t <= SPAN_MS && p.split !== null);
    const top = Math.max(nstages - 1, 2, ...shown.map((p) => p.split)), axis = timeAxis(shown, t);
    const y = chartFrame(svg, 1, top, "1", String(top), axis.span);
    const d = [];
    shown.forEach((p, i) => {
      const x = axis.x(p.t).toFixed(1);
      if (gap(shown, i)) d.push(`M${x},${y(p.split).toFixed(1)}`);
      else d.push(`L${x},${y(shown[i - 1].split).toFixed(1)}`, `L${x},${y(p.split).toFixed(1)}`);
    });
    svgEl(svg, "path", { d: d.join(" "), class: "line split" });
    const last = shown[shown.length - 1];
    if (last)
      svgEl(svg, "text", { x: W - PAD_R + 4, y: y(last.split) + 4, class: "value" },
        `K=${last.split}`);
    svg.dataset.samples = String(shown.length);
  }

  /* --- device cards -------------------------------------------------------------------------- */

  function stateText(live) {
    if (live.state === "online") return "online";
    if (live.why === "silent") return `offline: no stats for ${Math.round(live.since / 1000)} s`;
    if (live.since === undefined) return "offline";
    return `offline since ${new Date(Date.now() - live.since).toLocaleTimeString()}`;
  }

  function modeText(s) {
    const mode = s.mode === "auto" ? "automatic" : s.mode === "manual" ? "manual" : String(s.mode);
    return `${mode} · split ${s.split}`;
  }

  function goalText(s) {
    const delivered = `delivered ${fmt(s.delivered_fps, 1)}/s`;
    if (num(s.goal) === null) return `no goal · ${delivered}`;
    const miss = s.goal_unreachable ? " (unreachable)" : "";
    return `goal ${s.goal}${miss} · ${delivered}`;
  }

  /* Which stages ran where: 0..K-1 on the device, K..N-1 in the cloud. */
  function whereText(s) {
    const n = Array.isArray(s.stage_us) ? s.stage_us.length : 0, k = num(s.split);
    if (!n || k === null) return "";
    const range = (a, b) => (a === b ? `${a}` : `${a}–${b}`);
    const cloud = k < n ? `, ${range(k, n - 1)} in the cloud` : "";
    const bytes = `${fmt(s.bytes_per_frame, 0)} B/frame`;
    return `stages ${range(0, k - 1)} on the device${cloud} · ${bytes}`;
  }

  function makeCard(d) {
    const card = document.getElementById("device-card").content.firstElementChild.cloneNode(true);
    card.dataset.device = d.id;
    setText(card, ".id", d.id);
    return card;
  }

  function renderCounts(card, d) {
    const s = d.stats, tot = d.totals;
    if (!s) return;
    const dr = s.dropped || {};
    const dropped = (num(dr.buffer_full) || 0) + (num(dr.io) || 0) + (num(dr.error) || 0);
    fillItems($(card, ".counts"), [
      ["window: captured", s.captured ?? "–"], ["results", s.results ?? "–"],
      ["fallback", s.fallback ?? "–", s.fallback ? "warn" : ""],
      ["retried", s.retried ?? "–"], ["buffered", s.buffered ?? "–"],
      ["dropped", dropped, dropped ? "bad" : ""], ["skipped", s.skipped ?? "–"],
    ]);
    fillItems($(card, ".totals"), [
      ["since the page opened: results seen", d.results],
      ["fallback", tot.fallback, tot.fallback ? "warn" : ""], ["retried", tot.retried],
      ["duplicates", tot.duplicates], ["dropped", tot.dropped, tot.dropped ? "bad" : ""],
      ["skipped", tot.skipped], ["lost in this run", s.lost ?? "–", s.lost ? "bad" : ""],
    ]);
  }

  /* A plan is stale once its ttl_ms passes without it being published again (a plan without
   * ttl_ms never is). A retained plan counts from when it arrived: its age is unknown. */
  function planState(p, t) {
    if (!p) return "none";
    if (p.cleared) return "cleared";
    const ttl = num(p.plan.ttl_ms);
    return ttl !== null && t - p.at > ttl + STALE_SLACK_MS ? "stale" : "fresh";
  }

  /* The planned split next to the split in force, whether the plan meets the goal, and why (in
   * small text and as the line's tooltip). */
  function renderPlan(card, d, t) {
    const p = plans.get(d.id), state = planState(p, t), el = $(card, ".plan");
    card.dataset.plan = state;
    card.dataset.planSplit = state === "fresh" || state === "stale" ? String(p.plan.split) : "";
    el.title = "";
    if (state === "none") {
      el.replaceChildren();
      return;
    }
    if (state === "cleared") {
      fillItems(el, [["plan", "cleared by the planner", "warn"]]);
      return;
    }
    const s = p.plan, inForce = d.stats ? num(d.stats.split) : null;
    const items = [["planned split", s.split], ["in force", inForce ?? "–"]];
    if (state === "stale")
      items.push(["", `stale: not renewed for ${Math.round((t - p.at) / 1000)} s`, "warn"]);
    if (typeof s.goal_met === "boolean")
      items.push(["", s.goal_met ? "goal met" : "goal not met", s.goal_met ? "ok" : "bad"]);
    items.push(["predicted", withUnit(s.predicted_fps, 1, "frames/s")],
      ["cloud", withUnit(s.cloud_cpu_s, 3, "CPU-s/s")]);
    if (typeof s.planner === "string") items.push(["by", s.planner]);
    fillItems(el, items);
    if (typeof s.reason === "string" && s.reason) {
      const small = document.createElement("small");
      small.textContent = ` (${s.reason})`;
      el.append(small);
      el.title = s.reason;
    }
  }

  /* The window's CPU per second on the device and in the cloud; nothing from older agents. */
  function renderCpu(card, s) {
    const el = $(card, ".cpu");
    if (!s || (num(s.device_cpu_ms_per_s) === null && num(s.cloud_cpu_ms_per_s) === null)) {
      el.replaceChildren();
      return;
    }
    const items = [["CPU on the device", withUnit(s.device_cpu_ms_per_s, 1, "ms/s")],
      ["in the cloud", withUnit(s.cloud_cpu_ms_per_s, 1, "ms/s")]];
    if (num(s.cloud_cpu_us_per_result) !== null)
      items.push(["", withUnit(s.cloud_cpu_us_per_result, 0, "µs/result")]);
    if (s.cloud_saturated === true) items.push(["", "cloud saturated", "bad"]);
    fillItems(el, items);
  }

  function renderFrame(card, d, t) {
    const fig = $(card, ".frame");
    if (!d.framePending) return;
    fig.hidden = false;
    if (d.framePending !== d.frameShown) {
      const img = $(fig, "img"), old = d.frameShown;
      const release = () => { if (old) URL.revokeObjectURL(old); };
      img.addEventListener("load", release, { once: true });
      img.addEventListener("error", release, { once: true });
      img.src = d.framePending;
      d.frameShown = d.framePending;
    }
    setText(fig, "figcaption", `last annotated frame, ${Math.round((t - d.frameAt) / 1000)} s ago`);
  }

  function renderDevice(d, t) {
    if (!d.card) d.card = makeCard(d);
    const card = d.card, s = d.stats, live = liveness(d, devicePeriod(d), t);
    card.dataset.state = live.state;
    card.dataset.why = live.why;
    setText(card, ".state", stateText(live));
    setText(card, ".mode", s ? modeText(s) : "");
    setText(card, ".fps", s ? `${fmt(s.fps, 1)} frames/s` : "no stats yet");
    setText(card, ".goal", s ? goalText(s) : "");
    setText(card, ".latency", s && s.latency_ms ?
      `latency p50 ${fmt(s.latency_ms.p50, 1)} ms · p99 ${fmt(s.latency_ms.p99, 1)} ms` : "");
    setText(card, ".where", s ? whereText(s) : "");
    setText(card, ".reason", s && s.reason ? `scheduler: ${s.reason}` : "");
    renderPlan(card, d, t);
    renderCpu(card, s);
    renderCounts(card, d);
    renderFrame(card, d, t);
    const nstages = s && Array.isArray(s.stage_us) ? s.stage_us.length : 7;
    drawFps($(card, '[data-chart="fps"]'), d.samples, t);
    drawSplit($(card, '[data-chart="split"]'), d.samples, t, nstages);
    return live.state;
  }

  /* --- worker rows --------------------------------------------------------------------------- */

  /* [1,2,3,5] -> "1–3, 5" */
  function ranges(list) {
    if (!Array.isArray(list) || !list.length) return "–";
    const out = [];
    let a = list[0], b = list[0];
    for (const k of list.slice(1).concat([null])) {
      if (k === b + 1) { b = k; continue; }
      out.push(a === b ? `${a}` : `${a}–${b}`);
      a = b = k;
    }
    return out.join(", ");
  }

  const BAR = '<span class="bar"><span></span></span> ';

  /* A table row with a cell of each class; data-KEY is the client's id. */
  function makeRow(key, id, classes) {
    const tr = document.createElement("tr");
    tr.dataset[key] = id;
    for (const cls of classes) {
      const td = document.createElement("td");
      td.className = cls;
      tr.appendChild(td);
    }
    setText(tr, ".id", id);
    return tr;
  }

  /* Fills the bar in cell to share (0..1, null: empty). */
  function setBar(cell, share) {
    $(cell, ".bar > span").style.width = `${Math.round(Math.min(1, share || 0) * 100)}%`;
  }

  function makeWorkerRow(w) {
    const tr = makeRow("worker", w.id, ["id", "state", "stages", "rate", "busy", "queued",
      "threads", "processed", "capacity", "use", "cpu", "per-frame"]);
    $(tr, ".busy").innerHTML = `${BAR}<span class="pct"></span>`;
    $(tr, ".use").innerHTML = `${BAR}<span class="frac"></span> <b class="sat bad">saturated</b>`;
    return tr;
  }

  /* A worker's stated load: from its stats, or from its status when that is newer (the worker
   * restates its load there when it changes). Members that older workers lack are null. */
  function workerLoad(w) {
    const s = w.stats || {}, st = w.status || {};
    const src = st.capacity_cpu_s !== undefined &&
      (w.statusAt > w.statsAt || s.capacity_cpu_s === undefined) ? st : s;
    return { capacity: num(src.capacity_cpu_s), used: num(src.used_cpu_s),
      saturated: src.saturated === true, cpu: num(s.cpu_s_per_s),
      perFrame: num(s.cpu_us_per_frame) };
  }

  /* "0.018 of 2.00" */
  function ofText(used, capacity, digits) {
    if (used === null) return "–";
    return capacity === null ? fmt(used, digits) : `${fmt(used, digits)} of ${fmt(capacity, 2)}`;
  }

  function renderWorker(w, t) {
    if (!w.row) w.row = makeWorkerRow(w);
    const tr = w.row, s = w.stats, live = liveness(w, workerPeriod(w), t), load = workerLoad(w);
    tr.dataset.state = live.state;
    tr.dataset.why = live.why;
    tr.dataset.saturated = String(load.saturated);
    setText(tr, ".state", stateText(live));
    setText(tr, ".stages", ranges((s && s.stages) || (w.status && w.status.stages)));
    setText(tr, ".rate", s ? fmt(s.results_per_s, 1) : "–");
    const busy = s ? num(s.busy) : null;
    setBar($(tr, ".busy"), busy);
    setText(tr, ".pct", busy === null ? "–" : `${Math.round(busy * 100)}%`);
    setText(tr, ".queued", s ? String(s.queued ?? "–") : "–");
    setText(tr, ".threads", s ? String(s.threads ?? "–") : "–");
    setText(tr, ".processed", s ? String(s.processed ?? "–") : "–");
    setText(tr, ".capacity", fmt(load.capacity, 2));
    setBar($(tr, ".use"), load.capacity ? load.used / load.capacity : null);
    setText(tr, ".frac", ofText(load.used, load.capacity, 3));
    $(tr, ".sat").hidden = !load.saturated;
    setText(tr, ".cpu", fmt(load.cpu, 3));
    setText(tr, ".per-frame", withUnit(load.perFrame, 0, "µs"));
    return live.state;
  }

  /* --- planner rows -------------------------------------------------------------------------- */

  function makePlannerRow(p) {
    const tr = makeRow("planner", p.id, ["id", "state", "role", "group", "devices", "goals",
      "cpu", "decide", "malformed"]);
    $(tr, ".cpu").innerHTML = `${BAR}<span class="frac"></span>`;
    return tr;
  }

  function roleText(role, s) {
    if (role === "leader") return "leader";
    if (role === "standby")
      return typeof s.leader_id === "string" ? `standby, leader ${s.leader_id}` : "standby";
    return "–";
  }

  function renderPlanner(p, t) {
    if (!p.row) p.row = makePlannerRow(p);
    const tr = p.row, s = p.stats || {}, live = liveness(p, num(s.window_s), t);
    const role = live.state === "online" && typeof s.leader === "boolean" ?
      (s.leader ? "leader" : "standby") : "";
    tr.dataset.state = live.state;
    tr.dataset.why = live.why;
    tr.dataset.role = role;
    setText(tr, ".state", stateText(live));
    setText(tr, ".role", roleText(role, s));
    setText(tr, ".group", typeof s.group === "string" ? s.group : "–");
    const count = (a, b) => (num(a) === null ? "–" : `${a} of ${num(b) ?? "–"}`);
    setText(tr, ".devices", count(s.planned, s.devices));
    const met = num(s.goals_met), meetable = num(s.goals_meetable);
    setText(tr, ".goals", count(met, meetable));
    $(tr, ".goals").classList.toggle("warn", met !== null && meetable !== null && met < meetable);
    const cap = num(s.capacity_cpu_s), planned = num(s.planned_cpu_s), fixed = num(s.fixed_cpu_s);
    setBar($(tr, ".cpu"), cap ? ((planned || 0) + (fixed || 0)) / cap : null);
    const share = num(s.utilization), late = num(s.late_share);
    setText(tr, ".frac", ofText(planned, cap, 3) + (fixed ? ` (+${fmt(fixed, 3)} fixed)` : "") +
      (share === null ? "" : `, share ${fmt(share, 2)}`));
    /* late frames in the last window: the planner is cutting its share */
    $(tr, ".frac").classList.toggle("warn", late !== null && late > 0.01);
    setText(tr, ".decide", withUnit(s.decide_ms, 3, "ms"));
    setText(tr, ".malformed", String(s.malformed ?? "–"));
    $(tr, ".malformed").classList.toggle("warn", Boolean(num(s.malformed)));
    return live.state;
  }

  /* --- the page ------------------------------------------------------------------------------ */

  /* Puts the elements into parent in this order, online first, touching only what moved. */
  function place(parent, entries) {
    entries.sort((a, b) => (a.state === b.state ? (a.id < b.id ? -1 : 1) :
      a.state === "online" ? -1 : 1));
    entries.forEach((e, i) => {
      e.el.hidden = hideOffline && e.state !== "online";
      if (parent.children[i] !== e.el) parent.insertBefore(e.el, parent.children[i] || null);
    });
  }

  /* The online workers together: results/s, capacity and use, and the cloud's CPU per second
   * (what the workers state, their whole CPU; when none states it, as older workers do, the
   * sum the online devices report, fromDevices; null when neither does). */
  function fleetTotals(wks, devs) {
    const tot = { rate: 0, capacity: null, used: null, cpu: null, fromDevices: false };
    const add = (sum, v) => (v === null ? sum : (sum || 0) + v);
    for (const e of wks) {
      if (e.state !== "online") continue;
      const load = workerLoad(e.rec);
      tot.rate += (e.rec.stats && num(e.rec.stats.results_per_s)) || 0;
      tot.capacity = add(tot.capacity, load.capacity);
      tot.used = add(tot.used, load.used);
      tot.cpu = add(tot.cpu, load.cpu);
    }
    if (tot.cpu !== null) return tot;
    for (const e of devs) {
      const ms = e.state === "online" && e.rec.stats ? num(e.rec.stats.cloud_cpu_ms_per_s) : null;
      tot.cpu = add(tot.cpu, ms === null ? null : ms / 1000);
    }
    tot.fromDevices = tot.cpu !== null;
    return tot;
  }

  function renderFleet(tot, shown) {
    const foot = $(document, "#workers tfoot");
    foot.hidden = !shown;
    setText(foot, ".rate", fmt(tot.rate, 1));
    setText(foot, ".capacity", fmt(tot.capacity, 2));
    setBar($(foot, ".use"), tot.capacity ? tot.used / tot.capacity : null);
    setText(foot, ".frac", ofText(tot.used, tot.capacity, 3));
    setText(foot, ".cpu", fmt(tot.cpu, 3));
  }

  function render() {
    const t = now(), devs = [], wks = [], pls = [];
    for (const d of devices.values())
      devs.push({ id: d.id, state: renderDevice(d, t), el: d.card, rec: d });
    for (const w of workers.values())
      wks.push({ id: w.id, state: renderWorker(w, t), el: w.row, rec: w });
    for (const p of planners.values())
      pls.push({ id: p.id, state: renderPlanner(p, t), el: p.row, rec: p });
    place(document.getElementById("devices"), devs);
    place($(document, "#workers tbody"), wks);
    place($(document, "#planners tbody"), pls);
    document.getElementById("no-devices").hidden = devs.length > 0;
    document.getElementById("no-workers").hidden = wks.length > 0;
    document.getElementById("no-planners").hidden = pls.length > 0;
    const tot = fleetTotals(wks, devs);
    renderFleet(tot, wks.length > 0);
    const on = (list) => list.filter((e) => e.state === "online").length;
    const parts = [`devices online ${on(devs)} of ${devs.length}`,
      `workers online ${on(wks)} of ${wks.length}`];
    if (pls.length) parts.push(`planners online ${on(pls)} of ${pls.length}`);
    if (tot.cpu !== null) {
      const whose = tot.fromDevices ? " (as the devices count it)" : "";
      parts.push(`cloud CPU ${fmt(tot.cpu, 3)} CPU-s/s${whose}`);
    }
    document.getElementById("summary").textContent = parts.join(" · ");
  }

  function showConnection(state, text) {
    const el = document.getElementById("connection");
    el.dataset.state = state;
    el.textContent = text;
  }

  function settings() {
    const q = new URLSearchParams(location.search);
    let url = q.get("url");
    if (!url) {
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      url = location.protocol.startsWith("http") ? `${scheme}://${location.host}` :
        "ws://127.0.0.1:9001";
    }
    return { url, user: q.get("user") || "", password: q.get("password") || "" };
  }

  /* The address bar keeps the broker and user, never the password. */
  function rememberSettings(cfg) {
    const q = new URLSearchParams(location.search);
    q.set("url", cfg.url);
    if (cfg.user) q.set("user", cfg.user); else q.delete("user");
    q.delete("password");
    history.replaceState(null, "", `${location.pathname}?${q}`);
  }

  function connect(cfg) {
    if (client) client.end(true);
    const opts = {
      clean: true, resubscribe: false, reconnectPeriod: 2000, connectTimeout: 10000,
      /* the secure set-up binds each login to the client id of the same name */
      clientId: cfg.user || `dashboard-${Math.random().toString(16).slice(2, 10)}`,
    };
    if (cfg.user) {
      opts.username = cfg.user;
      opts.password = cfg.password;
    }
    showConnection("connecting", `connecting to ${cfg.url}`);
    const c = mqtt.connect(cfg.url, opts);
    client = c;
    /* events of a client replaced through the form no longer count */
    const on = (event, fn) => c.on(event, (...a) => { if (client === c) fn(...a); });
    on("connect", () => {
      showConnection("connected", `connected to ${cfg.url}`);
      c.subscribe(TOPICS, { qos: 0 }, (err, granted) => {
        const refused = (granted || []).filter((g) => g.qos === 128).map((g) => g.topic);
        if (client !== c) return;
        if (err || refused.some((f) => !OPTIONAL_TOPICS.has(f)))
          showConnection("error", `connected to ${cfg.url}, but may not read ` +
            `${refused.join(", ") || TOPICS.join(", ")}${err ? ": " + err.message : ""}`);
        else if (refused.length)
          showConnection("connected", `connected to ${cfg.url} (may not read ` +
            `${refused.join(", ")})`);
      });
    });
    on("reconnect", () => showConnection("connecting", `reconnecting to ${cfg.url}`));
    on("offline", () => showConnection("error", `lost the broker at ${cfg.url}; retrying`));
    on("error", (e) => {
      if (typeof e.code === "number" && e.code > 0) {
        /* the broker answered the login with a refusal (CONNACK reason code): retrying cannot
         * help, and the form stays for another try */
        showConnection("error", `${cfg.url}: login refused (${e.message})`);
        client = null;
        c.end(true);
        return;
      }
      showConnection("error", `${cfg.url}: ${e.message}`);
    });
    on("message", onMessage);
  }

  /* Another broker: forget every device and worker of the previous one. */
  function forgetAll() {
    for (const d of devices.values()) {
      if (d.card) d.card.remove();
      for (const url of new Set([d.framePending, d.frameShown])) if (url) URL.revokeObjectURL(url);
    }
    for (const c of [...workers.values(), ...planners.values()]) if (c.row) c.row.remove();
    devices.clear();
    workers.clear();
    planners.clear();
    plans.clear();
  }

  function setUpForm(cfg) {
    const form = document.getElementById("broker-form");
    form.elements.url.value = cfg.url;
    form.elements.user.value = cfg.user;
    form.elements.password.value = cfg.password;
    form.elements["hide-offline"].addEventListener("change", (e) => {
      hideOffline = e.target.checked;
      render();
    });
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const next = { url: form.elements.url.value.trim(), user: form.elements.user.value.trim(),
        password: form.elements.password.value };
      rememberSettings(next);
      forgetAll();
      connect(next);
    });
  }

  function start() {
    const cfg = settings();
    setUpForm(cfg);
    if (cfg.password) rememberSettings(cfg);
    render();
    setInterval(render, RENDER_MS);
    if (typeof mqtt === "undefined") {
      showConnection("error", "mqtt.min.js did not load: serve the page with scripts/dashboard.sh");
    } else if (cfg.user && !cfg.password) {
      document.getElementById("broker").open = true;
      showConnection("idle", `not connected: the password of ${cfg.user}, please`);
      document.getElementById("broker-form").elements.password.focus();
    } else {
      connect(cfg);
    }
  }

  start();
})();
