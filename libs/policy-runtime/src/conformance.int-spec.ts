// Data-driven conformance: every case in conformance/cases.yaml is evaluated by OPA itself
// (`opa eval`) and by our path (`opa build -t wasm` + loadPolicy), and the answers must agree.
// Known differences are listed in the corpus with a reason and the exact WASM answer, so a fix
// (or a new divergence) shows up as a failing case rather than passing silently.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT, compileRego, type RegoModules } from '@portcullis/testing';
import { parse } from 'yaml';
import { CAPABILITIES_FILE } from './capabilities';
import { opaEval } from './opa-cli.test-support';
import { loadPolicy } from './policy.loader';

interface ConformanceCase {
  name: string;
  /** One module (package portcullis), or several keyed by file name. */
  module?: string;
  modules?: RegoModules;
  input?: unknown;
  data?: unknown;
  /** When present, OPA's answer must equal it (and WASM's too, unless a known difference). */
  expect?: unknown;
  /** The decision must be undefined on both sides. */
  undefined?: boolean;
  /** Pins time.now_ns() on the WASM side (only for cases that give `expect`: opa eval cannot pin time). */
  now_ns?: number;
  known_difference?: { reason: string; wasm: unknown };
}

const CORPUS = join(REPO_ROOT, 'libs', 'policy-runtime', 'conformance', 'cases.yaml');
const corpus = parse(readFileSync(CORPUS, 'utf8')) as { cases: ConformanceCase[] };

void describe('conformance: opa eval and the WASM runtime agree (conformance/cases.yaml)', () => {
  void it('the corpus is well-formed and big enough to mean something', () => {
    assert.ok(corpus.cases.length >= 20, `${corpus.cases.length} cases`);
    const names = new Set<string>();
    for (const c of corpus.cases) {
      assert.ok(!names.has(c.name), `duplicate case name ${c.name}`);
      names.add(c.name);
      assert.ok(
        (c.module === undefined) !== (c.modules === undefined),
        `${c.name}: give module or modules`,
      );
      if (c.now_ns !== undefined) assert.ok('expect' in c, `${c.name}: now_ns needs expect`);
      if (c.known_difference)
        assert.ok(c.known_difference.reason.length > 10, `${c.name}: say why it differs`);
    }
  });

  for (const c of corpus.cases) {
    void it(c.name, async () => {
      const modules: RegoModules = c.modules ?? { 'policy.rego': c.module ?? '' };
      const fromOpa = opaEval(modules, c.input, c.data);
      const wasm = compileRego(modules, { capabilities: CAPABILITIES_FILE });
      const policy = await loadPolicy(wasm, c.data ?? {});
      const fromWasm = policy.evaluate(c.input, c.now_ns === undefined ? {} : { nowNs: c.now_ns });

      if (c.undefined) {
        assert.equal(fromOpa, undefined, 'opa eval: decision should be undefined');
        assert.equal(fromWasm, undefined, 'wasm: decision should be undefined');
        return;
      }
      assert.notEqual(
        fromOpa,
        undefined,
        'opa eval produced no decision; mark the case `undefined: true` if intended',
      );
      if ('expect' in c && c.now_ns === undefined)
        assert.deepEqual(fromOpa, c.expect, 'opa eval vs expect');
      const want = c.known_difference
        ? c.known_difference.wasm
        : 'expect' in c
          ? c.expect
          : fromOpa;
      assert.deepEqual(
        fromWasm,
        want,
        c.known_difference
          ? `known difference changed: ${c.known_difference.reason}`
          : 'wasm vs opa eval',
      );
    });
  }
});
