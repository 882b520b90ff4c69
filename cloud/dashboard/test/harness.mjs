// Helpers for the dashboard's browser test: waiting with a deadline, free loopback ports, the
// addresses a port listens on, and the programs it starts (logs in files, readiness lines read
// from their stderr, stopped in reverse order).
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/* Polls cond (sync or async) every 100 ms until it returns a truthy value, which it returns;
 * throws after ms. */
export async function waitFor(what, ms, cond) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(100);
  }
}

export function check(ok, what) {
  if (!ok) throw new Error(`check failed: ${what}`);
  console.log(`ok: ${what}`);
}

/* --- ports ------------------------------------------------------------------------------------ */

function portFree(port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

/* n consecutive free loopback ports, below the kernel's ephemeral range (as
 * tests/support/secure.h picks them), where another test's outgoing connection cannot take one
 * before the broker binds it. */
export async function freePorts(n) {
  let low = 32768;
  try {
    low = parseInt(fs.readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8"), 10) || low;
  } catch {
    /* keep the usual range */
  }
  const [base, span] = low > 20100 ? [20000, low - 20001] : [61000, 4000];
  for (let i = 0; i < 200; i++) {
    const p = base + Math.floor(Math.random() * (span - n));
    const ports = Array.from({ length: n }, (_, k) => p + k);
    let free = true;
    for (const q of ports) free = free && (await portFree(q));
    if (free) return ports;
  }
  throw new Error(`no ${n} free ports`);
}

export function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/* The local addresses listening on port, from /proc/net/tcp and tcp6 (hex, as the kernel writes
 * them). */
export function listeners(port) {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  const out = [];
  for (const f of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = fs.readFileSync(f, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 3 && cols[3] === "0A" && cols[1].endsWith(`:${hexPort}`))
        out.push(cols[1].slice(0, -5));
    }
  }
  return out;
}

/* 127.0.0.1, ::1 and ::ffff:127.0.0.1 as /proc/net writes them. */
export const LOOPBACK = new Set(["0100007F", "00000000000000000000000001000000",
  "0000000000000000FFFF00000100007F"]);

/* --- processes -------------------------------------------------------------------------------- */

export const procs = []; // every process started, for stopAll() and dumpLogs()

/* Starts a program with stdout and stderr in logPath; lines on stderr are kept for waitLine(). */
export function start(name, cmd, args, logPath) {
  const log = fs.openSync(logPath, "w");
  const child = spawn(cmd, args, { stdio: ["ignore", log, "pipe"] });
  const p = { name, child, logPath, lines: [], exit: null };
  let partial = "";
  child.stderr.on("data", (buf) => {
    fs.writeSync(log, buf);
    const parts = (partial + buf.toString()).split("\n");
    partial = parts.pop();
    p.lines.push(...parts);
  });
  child.on("exit", (code, signal) => {
    p.exit = { code, signal };
  });
  child.on("error", (e) => {
    p.exit = { code: -1, signal: null, error: e.message };
  });
  procs.push(p);
  return p;
}

export async function waitLine(p, re, ms) {
  return waitFor(`${re} from ${p.name}`, ms, () => {
    if (p.exit) throw new Error(`${p.name} exited (${JSON.stringify(p.exit)}) before ${re}`);
    return p.lines.some((l) => re.test(l));
  });
}

/* SIGTERM, then SIGKILL after ms; resolves to the exit record ({code, signal}). */
export async function stop(p, ms = 5000) {
  if (!p.exit) {
    p.child.kill("SIGTERM");
    try {
      await waitFor(`${p.name} to stop`, ms, () => p.exit);
    } catch {
      p.child.kill("SIGKILL");
      await waitFor(`${p.name} to die`, 2000, () => p.exit);
    }
  }
  return p.exit;
}

/* Stops every process still running, the last started first. */
export async function stopAll() {
  for (const p of procs.slice().reverse()) await stop(p);
}

export function killAll() {
  for (const p of procs) if (!p.exit) p.child.kill("SIGKILL");
}

export function dumpLogs() {
  for (const p of procs) {
    console.error(`---- ${p.logPath} ----`);
    try {
      console.error(fs.readFileSync(p.logPath, "utf8").split("\n").slice(-40).join("\n"));
    } catch (e) {
      console.error(e.message);
    }
  }
}
