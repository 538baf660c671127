// `npm start`: the whole Portcullis stack on one machine, on its embedded defaults.
//   nats-server (JetStream, .data/nats) :4222 → dev issuer :8900 → sample upstream :8901
//   → control plane (SQLite .data/control-plane.db) :8700 → enforcer :8800 (admin :8801)
// then uploads and activates rego/ as bundle `default` (unless the active version was built from
// exactly the same files, as on a restart with unchanged rego/) and prints what to try.
// Ctrl-C stops everything in reverse order. If any process dies, everything stops and this
// exits non-zero with that process's last lines.
// The sample upstream demands a bearer token generated for this run; only the enforcer holds it
// (connection `crm` in deploy/dev/connections.json names it by environment variable), so every
// forwarded call shows credential injection. The enforcer's masking hash key is generated per run.
// Options: --rego=<dir> uploads another policy folder instead of rego/; --no-build skips the
// TypeScript build (dist/ must be current).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join, relative, resolve, sep } from 'node:path';
import { bootstrap } from './bootstrap.mjs';
import { ROOT } from './tools.mjs';

const HOST = '127.0.0.1';
const PORTS = {
  nats: 4222,
  controlPlane: 8700,
  enforcer: 8800,
  enforcerAdmin: 8801,
  issuer: 8900,
  upstream: 8901,
};
const ISSUER = `http://${HOST}:${PORTS.issuer}`;
const CONTROL_PLANE = `http://${HOST}:${PORTS.controlPlane}`;
const ENFORCER = `http://${HOST}:${PORTS.enforcer}`;
const ENFORCER_ADMIN = `http://${HOST}:${PORTS.enforcerAdmin}`;
const ENFORCER_ID = 'dev-enforcer';
const BUNDLE = 'default';
const DATA = join(ROOT, '.data');
/** The variable deploy/dev/connections.json names as connection `crm`'s token (`token_env`). */
const CRM_TOKEN_ENV = 'PORTCULLIS_DEV_CRM_TOKEN';
const TAIL = 40;

const REGO_DIR = resolve(
  ROOT,
  process.argv.find((a) => a.startsWith('--rego='))?.slice('--rego='.length) ?? 'rego',
);
const BUILD = !process.argv.includes('--no-build');

const say = (m) => process.stderr.write(`[start] ${m}\n`);

/** A child process with a name, a prefix on every output line and the tail of its output. */
class Service {
  constructor(name, command, args, env = {}) {
    Object.assign(this, {
      name,
      command,
      args,
      env,
      tail: [],
      child: null,
      listening: false,
      exited: null,
    });
    this.onListening = null;
  }

  start(onUnexpectedExit) {
    this.child = spawn(this.command, this.args, {
      cwd: ROOT,
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Own process group: Ctrl-C reaches only this script, which then stops services in order.
      detached: true,
    });
    const pad = this.name.padEnd(15);
    for (const stream of [this.child.stdout, this.child.stderr]) {
      let partial = '';
      stream.on('data', (chunk) => {
        partial += chunk.toString('utf8');
        const lines = partial.split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          if (!line) continue;
          this.tail.push(line);
          if (this.tail.length > TAIL) this.tail.shift();
          process.stdout.write(`${pad}| ${line}\n`);
          if (
            !this.listening &&
            (line.includes('"msg":"listening"') || /Server is ready/.test(line))
          ) {
            this.listening = true;
            this.onListening?.();
          }
        }
      });
    }
    this.child.once('exit', (code, signal) => {
      this.exited = { code, signal };
      onUnexpectedExit(this);
    });
    this.child.once('error', (err) => {
      // A command that cannot be spawned emits 'error' and no 'exit'.
      this.tail.push(`could not start ${this.command}: ${err.message}`);
      if (!this.exited) {
        this.exited = { code: null, signal: null };
        onUnexpectedExit(this);
      }
    });
  }

  waitListening(timeoutMs) {
    if (this.listening) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(new Error(`${this.name} did not report listening within ${timeoutMs / 1000} s`)),
        timeoutMs,
      );
      this.onListening = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  async stop(graceMs = 10_000) {
    if (!this.child || this.exited) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => {
      say(`${this.name} did not stop within ${graceMs / 1000} s; killing it`);
      this.child.kill('SIGKILL');
    }, graceMs);
    await exited;
    clearTimeout(timer);
  }
}

const services = [];
let stopping = false;

async function stopAll(exitCode) {
  if (stopping) return;
  stopping = true;
  for (const s of [...services].reverse()) {
    if (s.child && !s.exited) say(`stopping ${s.name} ...`);
    await s.stop();
  }
  say(exitCode === 0 ? 'stopped' : 'stopped after a failure');
  process.exit(exitCode);
}

function onUnexpectedExit(service) {
  if (stopping) return;
  const { code, signal } = service.exited;
  process.stderr.write(
    `\n[start] ${service.name} exited unexpectedly (${signal ? `signal ${signal}` : `code ${code}`}); its last lines:\n` +
      service.tail.map((l) => `    ${l}`).join('\n') +
      '\n\n',
  );
  void stopAll(1);
}

async function fail(message) {
  process.stderr.write(`\n[start] ${message}\n`);
  await stopAll(1);
}

process.on('SIGINT', () => {
  if (stopping) {
    // Second Ctrl-C: the user does not want to wait for a graceful stop.
    for (const s of services) if (s.child && !s.exited) s.child.kill('SIGKILL');
    process.exit(130);
  }
  process.stderr.write('\n');
  say('Ctrl-C: stopping (press again to kill)');
  void stopAll(0);
});
process.on('SIGTERM', () => void stopAll(0));
process.on('exit', () => {
  for (const s of services) if (s.child && !s.exited) s.child.kill('SIGKILL');
});

function portFree(port) {
  return new Promise((resolve) => {
    const socket = connect(port, HOST);
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

async function poll(what, probe, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (stopping) throw new Error('stopping');
    try {
      if (await probe()) return;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(
    `timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? ` (last error: ${last})` : ''}`,
  );
}

async function json(method, url, body, token) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // keep the text for the error message
  }
  return { status: res.status, body: parsed, text };
}

/** Every file under rego/: `.rego` files become modules, `data.json` files are merged into data. */
function readBundle(dir) {
  const modules = {};
  let data;
  const walk = (d) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.rego'))
        modules[relative(dir, p).split(sep).join('/')] = readFileSync(p, 'utf8');
      else if (name === 'data.json')
        data = { ...(data ?? {}), ...JSON.parse(readFileSync(p, 'utf8')) };
    }
  };
  walk(dir);
  return { modules, data };
}

async function refuseBusyPorts() {
  const busy = [];
  for (const [name, port] of Object.entries(PORTS))
    if (!(await portFree(port))) busy.push(`${port} (${name})`);
  if (busy.length > 0) {
    say(
      `port(s) already in use: ${busy.join(', ')}. Is another \`npm start\` running? Stop it first.`,
    );
    process.exit(1);
  }
}

/** Deep equality of JSON values (object key order ignored). */
function sameJson(a, b) {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => k in b && sameJson(a[k], b[k]));
}

/**
 * The active version of the bundle when it was built from exactly these modules and data, else
 * null. A restart with unchanged rego/ then reuses it instead of piling up identical versions
 * (each upload is a new immutable version, whatever its content).
 */
async function unchangedActiveVersion(modules, data, token) {
  const bundle = await json('GET', `${CONTROL_PLANE}/v1/bundles/${BUNDLE}`, undefined, token);
  const active = bundle.status === 200 ? bundle.body?.active_version : null;
  if (typeof active !== 'number') return null;
  const detail = await json(
    'GET',
    `${CONTROL_PLANE}/v1/bundles/${BUNDLE}/versions/${active}`,
    undefined,
    token,
  );
  if (detail.status !== 200) return null;
  const same =
    sameJson(detail.body?.modules, modules) && sameJson(detail.body?.data ?? {}, data ?? {});
  return same ? { version: active, digest: detail.body.digest } : null;
}

async function main() {
  // Before the build, which can take a while: a second `npm start` should fail at once.
  await refuseBusyPorts();
  const tools = bootstrap({ compile: BUILD });
  await refuseBusyPorts();
  mkdirSync(join(DATA, 'nats'), { recursive: true });

  const node = (entry, env) => [
    process.execPath,
    ['--enable-source-maps', join(ROOT, 'dist', 'apps', entry, 'src', 'main.js')],
    env,
  ];
  // Secrets for this run only: never printed, never written to disk, gone with the processes.
  const crmToken = randomBytes(32).toString('base64url');
  const maskHashKey = randomBytes(32).toString('hex');
  const plan = [
    [
      'nats',
      tools.natsServer,
      ['-js', '-a', HOST, '-p', String(PORTS.nats), '-sd', join(DATA, 'nats')],
      {},
    ],
    [
      'dev-issuer',
      ...node('dev-issuer', { DEV_ISSUER_PORT: String(PORTS.issuer), DEV_ISSUER_HOST: HOST }),
    ],
    [
      'sample-upstream',
      ...node('sample-upstream', {
        SAMPLE_UPSTREAM_PORT: String(PORTS.upstream),
        SAMPLE_UPSTREAM_HOST: HOST,
        SAMPLE_UPSTREAM_EXPECT_BEARER: crmToken,
      }),
    ],
    [
      'control-plane',
      ...node('control-plane', {
        CP_HOST: HOST,
        CP_PORT: String(PORTS.controlPlane),
        DATABASE_URL: `sqlite:${join(DATA, 'control-plane.db')}`,
        NATS_URL: `nats://${HOST}:${PORTS.nats}`,
        AUTH_ISSUER: ISSUER,
        OPA_BIN: tools.opa,
      }),
    ],
    [
      'enforcer',
      ...node('enforcer', {
        ENFORCER_ID,
        ENFORCER_HOST: HOST,
        ENFORCER_PORT: String(PORTS.enforcer),
        ENFORCER_ADMIN_PORT: String(PORTS.enforcerAdmin),
        ENFORCER_BUNDLE: BUNDLE,
        ENFORCER_CONNECTIONS_FILE: join(ROOT, 'deploy', 'dev', 'connections.json'),
        [CRM_TOKEN_ENV]: crmToken,
        ENFORCER_MASK_HASH_KEY: maskHashKey,
        NATS_URL: `nats://${HOST}:${PORTS.nats}`,
        AUTH_ISSUER: ISSUER,
      }),
    ],
  ];

  for (const [name, command, args, env] of plan) {
    if (stopping) return;
    const service = new Service(name, command, args, env);
    services.push(service);
    service.start(onUnexpectedExit);
    await service.waitListening(60_000);
    if (name === 'control-plane') {
      await poll(
        'the control plane /readyz',
        async () => (await fetch(`${CONTROL_PLANE}/readyz`)).status === 200,
        60_000,
      );
    }
  }

  const mint = await json('POST', `${ISSUER}/token`, {
    sub: 'dev-policy-admin',
    claims: { portcullis_roles: ['policy-admin', 'auditor'] },
    ttl: 3600,
  });
  if (mint.status !== 200)
    return fail(`the dev issuer did not mint a token: ${mint.status} ${mint.text}`);
  const admin = mint.body.access_token;

  const regoName = relative(ROOT, REGO_DIR) || '.';
  const { modules, data } = existsSync(REGO_DIR) ? readBundle(REGO_DIR) : { modules: {} };
  if (Object.keys(modules).length === 0)
    return fail(`${regoName}/ holds no .rego files: nothing to upload`);
  let version;
  let digest;
  const unchanged = await unchangedActiveVersion(modules, data, admin);
  if (unchanged) {
    ({ version, digest } = unchanged);
    say(
      `${regoName}/ is unchanged since bundle "${BUNDLE}" version ${version}, which is active: not uploading it again`,
    );
  } else {
    say(
      `uploading ${Object.keys(modules).length} files from ${regoName}/ as bundle "${BUNDLE}" ...`,
    );
    const upload = await json(
      'POST',
      `${CONTROL_PLANE}/v1/bundles/${BUNDLE}/versions`,
      { modules, ...(data === undefined ? {} : { data }), activate: true },
      admin,
    );
    if (upload.status !== 201) {
      const errors = Array.isArray(upload.body?.errors)
        ? upload.body.errors
            .map((e) => `  ${e.file}:${e.row}:${e.col}: ${e.code}: ${e.message}`)
            .join('\n')
        : upload.text;
      return fail(`the control plane rejected ${regoName}/ (HTTP ${upload.status}):\n${errors}`);
    }
    ({ version, digest } = upload.body);
  }
  say(
    `bundle ${BUNDLE} version ${version} active (sha256 ${String(digest).slice(0, 12)}…); waiting for the enforcer ...`,
  );

  await poll(
    `enforcer ${ENFORCER_ID} to load version ${version}`,
    async () => {
      if ((await fetch(`${ENFORCER_ADMIN}/readyz`)).status !== 200) return false;
      const enforcers = await json('GET', `${CONTROL_PLANE}/v1/enforcers`, undefined, admin);
      // The status view is informative; when the control plane cannot show it, readiness suffices.
      if (enforcers.status !== 200) return true;
      const list = Array.isArray(enforcers.body) ? enforcers.body : (enforcers.body?.items ?? []);
      return list.some((e) => e?.enforcer_id === ENFORCER_ID && e?.active_version === version);
    },
    30_000,
  );

  printWelcome(version, regoName);
}

function printWelcome(version, regoName) {
  const b = (s) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
  process.stdout.write(`
${b('Portcullis is running')} (bundle "${BUNDLE}" version ${version} from ${regoName}/). Ctrl-C stops everything.

  control plane    ${CONTROL_PLANE}        (OpenAPI: ${CONTROL_PLANE}/docs)
  enforcer         ${ENFORCER}/crm/...   → sample upstream ${`http://${HOST}:${PORTS.upstream}`}
  enforcer admin   ${ENFORCER_ADMIN}/readyz  ${ENFORCER_ADMIN}/metrics
  dev issuer       ${ISSUER}        (development only: mints any token it is asked for)
  NATS             nats://${HOST}:${PORTS.nats}      data in .data/

${b('1. Tokens')} from the dev issuer (a small shell helper; paste it once)
  token() { curl -s -XPOST localhost:${PORTS.issuer}/token -d "$1" | node -pe 'JSON.parse(require("fs").readFileSync(0)).access_token'; }
  TOKEN=$(token '{"sub":"fn-reader","claims":{"roles":["crm-reader"]}}')                     # may read customers
  PII=$(token '{"sub":"fn-support","claims":{"roles":["crm-reader"],"scope":"pii:read"}}')   # may also see personal data
  AUDIT=$(token '{"sub":"alice","claims":{"portcullis_roles":["auditor"]}}')                 # reads the decision log

${b('2. An allowed call, masked')} (the reader lacks pii:read: card number, SSN and e-mail come back [REDACTED])
  curl -s localhost:${PORTS.enforcer}/crm/customers/1 -H "Authorization: Bearer $TOKEN"
  curl -s localhost:${PORTS.enforcer}/crm/customers/1 -H "Authorization: Bearer $PII"      # unmasked

${b('3. Injected credentials')} (the sample API wants a token made for this run; only the enforcer has it)
  curl -i localhost:${PORTS.upstream}/customers                                             # 401 from the sample API itself

${b('4. Denied calls')} (403 with the policy's reasons; the upstream never sees them)
  curl -i -XDELETE localhost:${PORTS.enforcer}/crm/customers/1 -H "Authorization: Bearer $TOKEN"   # needs crm-admin
  curl -i localhost:${PORTS.enforcer}/crm/customers/export -H "Authorization: Bearer $TOKEN"        # guard: an export must say limit=N (N ≤ 1000)

${b('5. The decision log and the recorded calls')}
  curl -s 'localhost:${PORTS.controlPlane}/v1/decisions?limit=5' -H "Authorization: Bearer $AUDIT"
  curl -s 'localhost:${PORTS.controlPlane}/v1/calls?limit=5' -H "Authorization: Bearer $AUDIT"

${b('6. Just-in-time approval (deleting one customer needs a crm-approvers member)')}
  ADMIN=$(token '{"sub":"fn-admin","claims":{"roles":["crm-admin"]}}')
  BOB=$(token '{"sub":"bob","claims":{"portcullis_roles":["approver"],"groups":["crm-approvers"]}}')
  curl -s -XDELETE localhost:${PORTS.enforcer}/crm/customers/2 -H "Authorization: Bearer $ADMIN"     # 202 {approval_id, …}
  curl -s -XPOST localhost:${PORTS.controlPlane}/v1/approvals/<approval_id>/approve -H "Authorization: Bearer $BOB" -H 'content-type: application/json' -d '{}'
  curl -i -XDELETE localhost:${PORTS.enforcer}/crm/customers/2 -H "Authorization: Bearer $ADMIN" -H "Portcullis-Approval: <approval_id>"   # 200, once

`);
}

main().catch((err) => {
  if (stopping) return;
  void fail(err instanceof Error ? err.message : String(err));
});
