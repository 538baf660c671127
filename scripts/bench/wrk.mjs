// Runs wrk (pinned to the load cores) and parses its report.
import { spawn } from 'node:child_process';
import { coreBusy, coreTimes, cpuSeconds, pinned } from './machine.mjs';

const UNIT_MS = { us: 1e-3, ms: 1, s: 1000, m: 60_000 };

function toMs(text) {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text);
  if (!m) throw new Error(`wrk printed an unreadable latency "${text}"`);
  return Number(m[1]) * UNIT_MS[m[2]];
}

/** Requests/s, latency percentiles (ms) and error counts from `wrk --latency` output. */
export function parseWrk(out) {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (!rps) throw new Error(`wrk printed no Requests/sec:\n${out}`);
  const pct = {};
  for (const m of out.matchAll(/^\s+(50|75|90|99)(?:\.000)?%\s+(\S+)/gm)) pct[m[1]] = toMs(m[2]);
  const requests = /(\d+) requests in/.exec(out);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    rps: Number(rps[1]),
    requests: requests ? Number(requests[1]) : null,
    p50_ms: pct['50'] ?? null,
    p90_ms: pct['90'] ?? null,
    p99_ms: pct['99'] ?? null,
    non_2xx: non2xx ? Number(non2xx[1]) : 0,
    socket_errors: socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
  };
}

/**
 * One wrk run: `connections` keep-alive connections on one thread for `seconds`, with the
 * given headers. Also reports how busy the watched process (the proxy under test) and each core
 * were, so a run bound by the load generator instead of the proxy shows as such.
 */
export async function wrk({ url, seconds, connections, headers = {}, cpuList, watchPids = [] }) {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '--timeout', '5s'];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  args.push(url);
  const { command, args: full } = pinned(cpuList, 'wrk', args);
  const cpu0 = watchPids.map(cpuSeconds);
  const cores0 = coreTimes();
  const started = performance.now();
  const out = await new Promise((resolve, reject) => {
    const child = spawn(command, full, { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d) => (text += d.toString()));
    child.stderr.on('data', (d) => (text += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve(text) : reject(new Error(`wrk exited ${code}:\n${text}`)),
    );
  });
  const wall = (performance.now() - started) / 1000;
  const busy = coreBusy(cores0, coreTimes());
  const result = parseWrk(out);
  const proxyCpu = watchPids.reduce((sum, pid, i) => {
    const after = cpuSeconds(pid);
    return after === null || cpu0[i] === null ? sum : sum + (after - cpu0[i]);
  }, 0);
  return {
    ...result,
    connections,
    seconds,
    // Fraction of one core the watched processes used (1.0 = the proxy's core was saturated).
    proxy_cpu: watchPids.length ? proxyCpu / wall : null,
    core_busy: Object.fromEntries(Object.entries(busy).map(([k, v]) => [k, Number(v.toFixed(3))])),
  };
}
