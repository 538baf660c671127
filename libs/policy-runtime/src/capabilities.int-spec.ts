import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT, buildRego, compileRego, toolPath } from '@portcullis/testing';
import { CAPABILITIES_FILE } from './capabilities';
import { PROVIDED_BUILTINS, SDK_BUILTINS } from './host.builtins';
import { opaEval } from './opa-cli.test-support';
import { loadPolicy } from './policy.loader';

/** One call per provided builtin; each result must match `opa eval` exactly. */
const PROVIDED_CALLS: Record<string, string> = {
  'time.now_ns': 'time.now_ns() > 1700000000000000000',
  'time.parse_rfc3339_ns': 'time.parse_rfc3339_ns("2024-05-06T07:08:09.5-02:00")',
  'time.parse_duration_ns': 'time.parse_duration_ns("1d2h3m4.5s")',
  'time.date': 'time.date([1717660800000000000, "Pacific/Auckland"])',
  'time.clock': 'time.clock([1717660800000000000, "America/Los_Angeles"])',
  'time.weekday': 'time.weekday([1717660800000000000, "Asia/Tokyo"])',
  'time.add_date': 'time.add_date(1706659200000000000, 0, 1, 1)',
  'time.diff': 'time.diff(1706659200000000000, [1717660800000000000, "Europe/Paris"])',
};

function capabilities(): { builtins: { name: string }[] } {
  return JSON.parse(readFileSync(CAPABILITIES_FILE, 'utf8')) as { builtins: { name: string }[] };
}

void describe('capabilities.json (what the control plane compiles with)', () => {
  void it('the committed file equals a fresh generation (regenerate with node scripts/gen-capabilities.mjs)', () => {
    const fresh = execFileSync(
      process.execPath,
      [join(REPO_ROOT, 'scripts', 'gen-capabilities.mjs'), '--stdout'],
      {
        encoding: 'utf8',
        env: { ...process.env, OPA_BIN: toolPath('opa') },
      },
    );
    assert.equal(readFileSync(CAPABILITIES_FILE, 'utf8'), fresh, 'capabilities.json is stale');
  });

  void it('lists every builtin the runtime and the SDK provide, and nothing that needs the network', () => {
    const names = new Set(capabilities().builtins.map((b) => b.name));
    for (const n of [...PROVIDED_BUILTINS, ...SDK_BUILTINS])
      assert.ok(names.has(n), `${n} missing`);
    for (const n of ['http.send', 'net.lookup_ip_addr', 'opa.runtime', 'io.jwt.decode_verify'])
      assert.ok(!names.has(n), `${n} listed`);
  });

  for (const [builtin, call] of [
    ['http.send', 'http.send({"method": "get", "url": "http://127.0.0.1:1/"})'],
    ['net.lookup_ip_addr', 'net.lookup_ip_addr("localhost")'],
  ]) {
    void it(`opa build rejects a policy using ${builtin}, naming the builtin`, () => {
      const run = buildRego(
        { 'p.rego': `package portcullis\n\ndecision := {"allow": true, "x": ${call}}\n` },
        { capabilities: CAPABILITIES_FILE },
      );
      assert.notEqual(run.status, 0, 'build should fail');
      assert.equal(run.wasm, undefined);
      assert.match(
        run.stderr + run.stdout,
        new RegExp(`undefined function ${builtin.replace('.', '\\.')}`),
      );
    });
  }

  void it('every provided builtin is exercised below (a new one needs a conformance call)', () => {
    assert.deepEqual(Object.keys(PROVIDED_CALLS).sort(), [...PROVIDED_BUILTINS].sort());
  });

  for (const [builtin, call] of Object.entries(PROVIDED_CALLS)) {
    void it(`${builtin} compiles with the capabilities file and evaluates like opa eval`, async () => {
      const modules = { 'p.rego': `package portcullis\n\ndecision := ${call}\n` };
      const wasm = compileRego(modules, { capabilities: CAPABILITIES_FILE });
      const policy = await loadPolicy(wasm, {});
      assert.ok(
        policy.hostBuiltins.includes(builtin),
        `${builtin} is served by the host, not compiled in`,
      );
      const expected = opaEval(modules, undefined);
      assert.notEqual(expected, undefined);
      assert.deepEqual(policy.evaluate(undefined), expected);
    });
  }
});
