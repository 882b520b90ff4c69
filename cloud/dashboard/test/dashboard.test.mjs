// Integration: the dashboard page in headless Chromium against real programs.
//
// Development set-up: scripts/dashboard.sh starts mosquitto (dev.conf plus the websockets
// listener that serves the page) on free loopback ports, then one cloud-worker, one
// fleet-planner, the page (which connects to the broker that served it) and three edge agents in
// automatic mode, one asking for annotated frames, one slowed down so that it moves its split.
// Checks: the page lists the worker with its CPU capacity, the planner as leader and the
// devices; a device shows its planned split; the fleet's cloud CPU shows; a device's fps chart
// moves; the last annotated frame shows; a device whose stats stop (SIGSTOP) and a device that
// stops (SIGTERM: its offline status) are marked offline; a planner that stops is offline and
// its plans cleared; messages of older programs (no load, no CPU, a malformed plan) still show.
//
// Secure set-up: scripts/secure-setup.sh with a viewer; its broker, a worker and an agent with
// passwords over TLS; the page opened from the set-up's copy on disk, connecting over TLS
// websockets. Checks: a wrong password is refused, the viewer's is accepted, and the page shows
// the worker, the device and its frames.
//
// Usage: node test/dashboard.test.mjs --bin BUILD/bin --out DIR [--docs-screenshot PNG]
//   DIR receives the screenshots (dashboard-*.png) and the programs' logs; with
//   --docs-screenshot, the page is also photographed for the README once the charts have data.
// Needs `npm ci` in cloud/dashboard and Chromium (/usr/bin/chromium, or $CHROMIUM): without
// them it fails, it does not skip. Exit code 0 when every check passed, 1 otherwise.
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import {
  LOOPBACK, canConnect, check, dumpLogs, freePorts, killAll, listeners, procs, sleep, start,
  stop, stopAll, waitFor, waitLine,
} from "./harness.mjs";

const PAGE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const ROOT = path.resolve(PAGE_DIR, "../..");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const DEADLINE_MS = 100000; // below ctest's timeout (120 s), so that the cleanup still runs
const VIEWPORT = { width: 1280, height: 860 };

function parseArgs(argv) {
  const a = { bin: "", out: "", docs: "" };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (v === undefined) throw new Error(`${k} needs a value`);
    if (k === "--bin") a.bin = path.resolve(v);
    else if (k === "--out") a.out = path.resolve(v);
    else if (k === "--docs-screenshot") a.docs = path.resolve(v);
    else throw new Error(`unknown option ${k}`);
  }
  if (!a.bin || !a.out) throw new Error("usage: dashboard.test.mjs --bin DIR --out DIR");
  return a;
}

function prerequisites() {
  const npm = "npm ci in cloud/dashboard (scripts/setup.sh)";
  const need = [
    [path.join(PAGE_DIR, "node_modules/playwright-core/package.json"), npm],
    [path.join(PAGE_DIR, "node_modules/mqtt/dist/mqtt.min.js"), npm],
    [CHROMIUM, "apt-get install chromium (scripts/setup.sh)"],
  ];
  for (const [f, how] of need) if (!fs.existsSync(f)) throw new Error(`missing ${f}: ${how}`);
}

/* --- reading the page ------------------------------------------------------------------------- */

const card = (id) => `#devices [data-device="${id}"]`;
const workerOnline = (id) => `#workers tr[data-worker="${id}"][data-state="online"]`;

/* A device card's data-state and data-why, and its fps chart's samples and line. */
async function readCard(page, id) {
  return page.evaluate((sel) => {
    const c = document.querySelector(sel);
    if (!c) return null;
    const svg = c.querySelector('svg[data-chart="fps"]');
    const line = svg.querySelector("path");
    return {
      state: c.dataset.state, why: c.dataset.why, samples: Number(svg.dataset.samples || 0),
      line: line ? line.getAttribute("d") : "", plan: c.dataset.plan || "",
      planSplit: c.dataset.planSplit || "", cpu: c.querySelector(".cpu").textContent,
    };
  }, card(id));
}

async function cardIs(page, id, state, why) {
  const c = await readCard(page, id);
  return c && c.state === state && (why === undefined || c.why === why) ? c : null;
}

async function frameShows(page, id) {
  return page.evaluate((sel) => {
    const img = document.querySelector(`${sel} .frame img`);
    return Boolean(img && img.src.startsWith("blob:") && img.complete && img.naturalWidth > 0 &&
      !img.closest(".frame").hidden);
  }, card(id));
}

/* Whether a worker's row shows its results per second (from its stats on pipeline/stats/ID). */
async function loadShows(page, id) {
  return /^\d+(\.\d+)?$/.test(await page.textContent(`#workers tr[data-worker="${id}"] .rate`));
}

/* The text of a cell (by class) in worker id's row. */
async function workerCell(page, id, cls) {
  return page.textContent(`#workers tr[data-worker="${id}"] .${cls}`);
}

/* Whether a worker's row shows a CPU capacity above 0 (its load report's capacity_cpu_s). */
async function capacityShows(page, id) {
  const text = await workerCell(page, id, "capacity");
  return /^\d+(\.\d+)?$/.test(text) && Number(text) > 0 ? text : null;
}

async function shot(page, file) {
  await page.screenshot({ path: file, fullPage: true });
  console.log(`screenshot: ${file}`);
}

/* Runs fn(page, errors) on a new page of browser; errors collects the page's uncaught errors.
 * When fn throws, a screenshot NAME-failed.png is kept and the page's console printed. */
async function onPage(browser, out, name, fn) {
  const page = await browser.newPage({ viewport: VIEWPORT });
  const messages = [], errors = [];
  page.on("console", (m) => messages.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => {
    errors.push(e.message);
    messages.push(`uncaught: ${e.message}`);
  });
  try {
    await fn(page, errors);
  } catch (e) {
    await page.screenshot({ path: path.join(out, `${name}-failed.png`), fullPage: true })
      .catch(() => {});
    console.error(`---- the page's console (${name}) ----\n${messages.join("\n")}`);
    throw e;
  } finally {
    await page.close();
  }
}

/* The page down to the end of its content, for the README. */
async function docsShot(page, file) {
  const height = await page.evaluate(() =>
    Math.ceil(document.querySelector("main").getBoundingClientRect().bottom));
  await page.screenshot({ path: file, fullPage: true,
    clip: { x: 0, y: 0, width: VIEWPORT.width, height } });
  console.log(`screenshot for the README: ${file}`);
}

/* --- development set-up ----------------------------------------------------------------------- */

/* The broker of the page, on free ports: a few attempts, since another test may take a port
 * between the check and the bind. */
async function startDashboard(out) {
  for (let attempt = 1; attempt <= 5; attempt++) {
    const [port, wsPort] = await freePorts(2);
    const p = start("dashboard.sh", path.join(ROOT, "scripts/dashboard.sh"),
      ["--port", String(port), "--ws-port", String(wsPort)], path.join(out, "broker.log"));
    try {
      await waitLine(p, /^DASHBOARD-READY /, 15000);
      return { port, wsPort };
    } catch (e) {
      console.error(`attempt ${attempt}: ${e.message}`);
      await stop(p);
      procs.splice(procs.indexOf(p), 1);
    }
  }
  throw new Error("scripts/dashboard.sh did not start a broker");
}

async function checkChartMoves(page, out) {
  const first = await readCard(page, "cam-a");
  await shot(page, path.join(out, "dashboard-1.png"));
  const second = await waitFor("two more windows on cam-a's fps chart", 10000, async () => {
    const c = await readCard(page, "cam-a");
    return c.samples >= first.samples + 2 ? c : null;
  });
  await shot(page, path.join(out, "dashboard-2.png"));
  const points = (c) => c.line.split(/[ML]/).filter((s) => s.trim()).length;
  check(second.line !== first.line && points(second) > points(first),
    `cam-a's fps chart moved (${first.samples} -> ${second.samples} samples)`);
}

/* Stats stop but the connection stays: offline after about 3 windows, online once they resume. */
async function checkSilent(page, agent, out) {
  agent.child.kill("SIGSTOP");
  const stoppedAt = Date.now();
  try {
    await waitFor("cam-a marked offline without stats", 10000, () =>
      cardIs(page, "cam-a", "offline", "silent"));
  } finally {
    agent.child.kill("SIGCONT");
  }
  const silentMs = Date.now() - stoppedAt;
  await shot(page, path.join(out, "dashboard-3-silent.png"));
  check(silentMs >= 2000,
    `cam-a marked offline ${silentMs} ms after its stats stopped (window 1 s)`);
  await waitFor("cam-a online again", 10000, () => cardIs(page, "cam-a", "online"));
  check(true, "cam-a online again once its stats resume");
}

/* A message on the broker, from mosquitto_pub. */
async function publish(port, topic, message, out) {
  const log = path.join(out, `pub-${topic.replace(/\//g, "_")}.log`);
  const p = start(`mosquitto_pub ${topic}`, "mosquitto_pub", ["-h", "127.0.0.1", "-p",
    String(port), "-t", topic, "-m", message], log);
  await waitFor(`mosquitto_pub on ${topic}`, 5000, () => p.exit);
  if (p.exit.code !== 0) throw new Error(`mosquitto_pub on ${topic}: ${JSON.stringify(p.exit)}`);
}

/* What older programs send: a worker's load without its CPU, a device's window without its CPU,
 * and a plan that is not one. The page shows dashes and no plan, and throws nothing. (Windows of
 * 30 s: neither goes silent during the check.) */
async function checkOlderMessages(page, port, out) {
  await publish(port, "pipeline/stats/w-old", JSON.stringify({ role: "worker", worker: "w-old",
    window_s: 30.0, processed: 5, results_per_s: 5.0, queued: 0, threads: 1, busy: 0.1,
    stages: [1, 2] }), out);
  await publish(port, "pipeline/plan/cam-old", '{"device":"cam-old","split":"two"}', out);
  await publish(port, "pipeline/stats/cam-old", JSON.stringify({ device: "cam-old", mode: "auto",
    split: 2, goal: 10.0, fps: 9.5, delivered_fps: 9.5, window_s: 30.0,
    latency_ms: { p50: 20.0, p99: 40.0 }, bytes_per_frame: 100, stage_us: [10, 10, 0, 0, 0, 0, 0],
    lost: 0, captured: 10, results: 10 }), out);
  const row = await waitFor("w-old listed", 5000, () => page.$(workerOnline("w-old")));
  const old = [await workerCell(page, "w-old", "rate"), await workerCell(page, "w-old",
    "capacity"), await workerCell(page, "w-old", "frac"), await workerCell(page, "w-old", "cpu")];
  check(row && old[0] === "5.0" && old.slice(1).every((t) => t === "–"),
    `an older worker's load shows, with dashes for its CPU (${old.join(" | ")})`);
  const c = await waitFor("cam-old listed", 5000, () => cardIs(page, "cam-old", "online"));
  check(c.plan === "none" && c.cpu === "",
    `an older device shows without CPU, and a malformed plan is ignored (plan ${c.plan})`);
}

/* The planner stops: its offline status, and its plans cleared (empty retained messages). */
async function checkPlannerStops(page, planner) {
  const exit = await stop(planner, 15000);
  check(exit.code === 0, `p-1 stopped on SIGTERM with exit code 0 (${JSON.stringify(exit)})`);
  await waitFor("p-1 marked offline", 10000, () =>
    page.$('#planners tr[data-planner="p-1"][data-state="offline"][data-why="status"]'));
  check(true, "p-1 marked offline by its status");
  const c = await waitFor("cam-p's plan cleared", 10000, async () => {
    const r = await readCard(page, "cam-p");
    return r && r.plan === "cleared" ? r : null;
  });
  check(c.planSplit === "", "cam-p's plan shows as cleared once p-1 stopped");
}

async function devSetUp(args, browser) {
  const { port, wsPort } = await startDashboard(args.out);
  const where = listeners(wsPort);
  check(where.length > 0 && where.every((a) => LOOPBACK.has(a)),
    `the websockets port ${wsPort} listens on loopback only (${where.join(", ")})`);
  const res = await fetch(`http://127.0.0.1:${wsPort}/mqtt.min.js`);
  check(res.ok, `the broker serves mqtt.min.js (HTTP ${res.status})`);

  const bin = (n) => path.join(args.bin, n);
  const broker = ["--host", "127.0.0.1", "--port", String(port)];
  const w = start("cloud-worker", bin("cloud-worker"), [...broker, "--worker-id", "w-1",
    "--threads", "2"], path.join(args.out, "worker.log"));
  await waitLine(w, /WORKER-READY/, 15000);
  const planner = start("fleet-planner", bin("fleet-planner"), [...broker, "--planner-id", "p-1",
    "--window", "1"], path.join(args.out, "planner.log"));
  await waitLine(planner, /PLANNER-READY/, 15000);

  await onPage(browser, args.out, "dashboard", async (page, errors) => {
    await page.goto(`http://127.0.0.1:${wsPort}/`);
    await waitFor("the page to connect", 10000, () =>
      page.$('#connection[data-state="connected"]'));
    await waitFor("worker w-1 listed online", 10000, () => page.$(workerOnline("w-1")));
    check(true, "the page lists worker w-1 online");

    // Devices appear as they connect: the agents start after the page.
    const a = start("cam-a", bin("edge-agent"), ["6", "30", ...broker, "--device-id", "cam-a",
      "--rate", "30", "--window", "1", "--annotate-every", "10"],
    path.join(args.out, "cam-a.log"));
    const b = start("cam-b", bin("edge-agent"), ["6", "20", ...broker, "--device-id", "cam-b",
      "--rate", "25", "--slowdown", "20", "--window", "1"], path.join(args.out, "cam-b.log"));
    start("cam-p", bin("edge-agent"), ["3", "10", ...broker, "--device-id", "cam-p", "--rate",
      "20", "--window", "1"], path.join(args.out, "cam-p.log"));
    const agentsAt = Date.now();
    for (const id of ["cam-a", "cam-b", "cam-p"])
      await waitFor(`${id} listed online with stats`, 15000, async () => {
        const c = await cardIs(page, id, "online");
        return c && c.samples >= 2;
      });
    check(true, "the page lists cam-a, cam-b and cam-p online");

    await waitFor("p-1 listed online as leader", 15000, () =>
      page.$('#planners tr[data-planner="p-1"][data-state="online"][data-role="leader"]'));
    check(true, "the page lists planner p-1 online as the leader");
    const planned = await waitFor("a plan for cam-p", 15000, async () => {
      const c = await readCard(page, "cam-p");
      return c && c.plan === "fresh" && /^\d+$/.test(c.planSplit) ? c : null;
    });
    check(true, `cam-p shows its planned split ${planned.planSplit} (pipeline/plan/cam-p)`);
    const share = await waitFor("p-1's share of the capacity", 10000, async () => {
      const text = await page.textContent('#planners tr[data-planner="p-1"] .frac');
      return /, share (0\.\d\d|1\.00)$/.test(text) ? text : null;
    });
    check(true, `p-1 shows the share of the capacity its plans use (${share})`);
    const capacity = await waitFor("w-1's capacity", 10000, () => capacityShows(page, "w-1"));
    check(true, `w-1 shows its capacity, ${capacity} CPU-s/s`);
    const summary = await waitFor("the fleet's cloud CPU", 10000, async () => {
      const text = await page.textContent("#summary");
      return /cloud CPU \d+\.\d+ CPU-s\/s/.test(text) ? text : null;
    });
    check(true, `the fleet's cloud CPU shows (${summary})`);

    await checkChartMoves(page, args.out);
    await waitFor("cam-a's annotated frame", 10000, () => frameShows(page, "cam-a"));
    check(true, "cam-a's last annotated frame shows (a JPEG from pipeline/frames/cam-a)");
    await waitFor("w-1's load", 10000, () => loadShows(page, "w-1"));
    check(true, "w-1's load shows (pipeline/stats/w-1)");

    if (args.docs) {
      // Enough history for the README: cam-b's split has had time to come down.
      await sleep(Math.max(0, 20000 - (Date.now() - agentsAt)));
      await docsShot(page, args.docs);
    }

    await checkSilent(page, a, args.out);
    const exit = await stop(b, 15000);
    check(exit.code === 0, `cam-b stopped on SIGTERM with exit code 0 (${JSON.stringify(exit)})`);
    await waitFor("cam-b marked offline", 10000, () => cardIs(page, "cam-b", "offline", "status"));
    check(true, "cam-b marked offline by its status");
    check(await cardIs(page, "cam-a", "online"), "cam-a still online");
    check(await page.$(workerOnline("w-1")), "w-1 still online");
    await checkPlannerStops(page, planner);
    await shot(page, path.join(args.out, "dashboard-4-offline.png"));
    await checkOlderMessages(page, port, args.out);
    check(errors.length === 0, `no errors in the page (${errors.join("; ")})`);
  });
}

/* --- secure set-up ---------------------------------------------------------------------------- */

/* secure-setup.sh's set-up in dir and its broker on free ports (port, port + 1 for mutual TLS,
 * port + 2 for websockets), a few attempts as above. */
async function startSecureBroker(tmp, out) {
  for (let attempt = 1; attempt <= 3; attempt++) {
    const [port] = await freePorts(3);
    const setup = path.join(tmp, `setup-${attempt}`);
    const s = start("secure-setup.sh", path.join(ROOT, "scripts/secure-setup.sh"), [setup,
      "--port", String(port), "--devices", "cam-s", "--workers", "w-s", "--viewers", "dash"],
    path.join(out, "secure-setup.log"));
    await waitFor("secure-setup.sh", 60000, () => s.exit);
    check(s.exit.code === 0, `secure-setup.sh wrote a set-up with viewer dash (${setup})`);
    const b = start("mosquitto (secure)", "mosquitto", ["-c", path.join(setup, "mosquitto.conf")],
      path.join(out, "secure-broker.log"));
    const up = await waitFor("the secure broker", 10000, async () =>
      b.exit || ((await canConnect(port)) && (await canConnect(port + 2))));
    if (up === true) return { setup, port, wsPort: port + 2 };
    console.error(`attempt ${attempt}: the secure broker exited (${JSON.stringify(b.exit)})`);
  }
  throw new Error("the secure set-up's broker did not start");
}

/* The base64 SHA-256 of the server's public key, which Chromium is told to accept: the set-up's
 * CA is not in its trust store. */
function spkiHash(certFile) {
  const cert = new crypto.X509Certificate(fs.readFileSync(certFile));
  const der = cert.publicKey.export({ type: "spki", format: "der" });
  return crypto.createHash("sha256").update(der).digest("base64");
}

async function login(page, password, state) {
  await page.fill("#broker-form input[name=password]", password);
  await page.click("#broker-form button[type=submit]");
  return waitFor(`connection state ${state}`, 10000, () =>
    page.$(`#connection[data-state="${state}"]`));
}

async function secureSetUp(args, chromium) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "es-dashboard-"));
  fs.chmodSync(tmp, 0o755); // mosquitto started as root reads the set-up as its own user
  let browser = null;
  try {
    const { setup, port, wsPort } = await startSecureBroker(tmp, args.out);
    const where = listeners(wsPort);
    check(where.length > 0 && where.every((a) => LOOPBACK.has(a)),
      `the TLS websockets port ${wsPort} listens on loopback only (${where.join(", ")})`);
    const tls = (id) => ["--tls", "--host", "localhost", "--port", String(port), "--cafile",
      path.join(setup, "ca.crt"), "--username", id, "--password-file",
      path.join(setup, `${id}.pass`)];
    const w = start("cloud-worker (secure)", path.join(args.bin, "cloud-worker"),
      [...tls("w-s"), "--worker-id", "w-s", "--threads", "1"],
      path.join(args.out, "secure-worker.log"));
    await waitLine(w, /WORKER-READY/, 15000);
    start("cam-s", path.join(args.bin, "edge-agent"), ["6", "30", ...tls("cam-s"), "--device-id",
      "cam-s", "--rate", "30", "--window", "1", "--annotate-every", "10"],
    path.join(args.out, "cam-s.log"));

    const spki = spkiHash(path.join(setup, "server.crt"));
    browser = await chromium.launch({ executablePath: CHROMIUM,
      args: [`--ignore-certificate-errors-spki-list=${spki}`] });
    await onPage(browser, args.out, "dashboard-secure", async (page, errors) => {
      const url = `file://${setup}/dashboard/index.html?url=wss://localhost:${wsPort}&user=dash`;
      await page.goto(url);
      check(await page.$('#connection[data-state="idle"]'),
        "the page opened from the set-up's copy asks for the viewer's password");
      await login(page, "not-the-password", "error");
      const refusal = await page.textContent("#connection");
      check(/refused/.test(refusal), `a wrong password is refused (${refusal})`);
      const password = fs.readFileSync(path.join(setup, "dash.pass"), "utf8").split("\n")[0];
      await login(page, password, "connected");
      check(!page.url().includes(password), "connected as dash; the password is not in the URL");
      await waitFor("w-s online", 10000, () => page.$(workerOnline("w-s")));
      await waitFor("cam-s online with stats", 15000, async () => {
        const c = await cardIs(page, "cam-s", "online");
        return c && c.samples >= 2;
      });
      await waitFor("cam-s's annotated frame", 10000, () => frameShows(page, "cam-s"));
      await waitFor("w-s's load", 10000, () => loadShows(page, "w-s"));
      check(true, "over TLS websockets the page shows w-s and its load, cam-s, its stats and " +
        "its frames");
      await shot(page, path.join(args.out, "dashboard-secure.png"));
      check(errors.length === 0, `no errors in the page (${errors.join("; ")})`);
    });
  } finally {
    if (browser) await browser.close();
    await stopAll();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/* --- main ------------------------------------------------------------------------------------- */

async function main() {
  const args = parseArgs(process.argv.slice(2));
  prerequisites();
  fs.mkdirSync(args.out, { recursive: true });
  for (const f of fs.readdirSync(args.out))
    if (f.endsWith(".png") || f.endsWith(".log")) fs.rmSync(path.join(args.out, f));
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({ executablePath: CHROMIUM });
  try {
    await devSetUp(args, browser);
  } finally {
    await browser.close();
    await stopAll();
  }
  await secureSetUp(args, chromium);
}

const started = Date.now();
const timer = setTimeout(() => {
  console.error(`FAIL: the test ran past ${DEADLINE_MS} ms`);
  dumpLogs();
  killAll();
  process.exit(1);
}, DEADLINE_MS);

main().then(() => {
  clearTimeout(timer);
  console.log(`PASS in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  process.exit(0);
}, async (e) => {
  clearTimeout(timer);
  console.error(`FAIL: ${e.message}`);
  await stopAll().catch(() => killAll());
  dumpLogs();
  process.exit(1);
});
