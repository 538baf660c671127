import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { PolicyEvaluationError } from './policy-evaluation.error';
import { hostBuiltins, PROVIDED_BUILTINS, SDK_BUILTINS } from './host.builtins';

describe('host builtins', () => {
  it('SDK_BUILTINS matches what the installed opa-wasm SDK implements (an SDK upgrade cannot drift silently)', () => {
    const req = createRequire(__filename);
    const sdkDir = join(dirname(req.resolve('@open-policy-agent/opa-wasm')), 'builtins');
    const names = readdirSync(sdkDir)
      .filter((f) => f.endsWith('.js') && f !== 'index.js')
      .flatMap((f) => Object.keys(req(join(sdkDir, f)) as Record<string, unknown>));
    assert.deepEqual([...names].sort(), [...SDK_BUILTINS].sort());
  });

  it('the runtime provides at least the time builtins business-hours rules need', () => {
    for (const name of [
      'time.now_ns',
      'time.parse_rfc3339_ns',
      'time.date',
      'time.clock',
      'time.weekday',
      'time.add_date',
    ]) {
      assert.ok(PROVIDED_BUILTINS.includes(name), name);
    }
    assert.ok(
      !PROVIDED_BUILTINS.some((n) => SDK_BUILTINS.includes(n)),
      'no overlap: the SDK would shadow ours',
    );
  });

  it('a failing builtin is undefined by default, as in OPA', () => {
    const b = hostBuiltins({ nowNs: 0n }, false);
    assert.equal(b['time.parse_rfc3339_ns']('not a time'), undefined);
  });

  it('with strict builtin errors a failing builtin aborts with a typed error that names the builtin, not the value', () => {
    const b = hostBuiltins({ nowNs: 0n }, true);
    assert.throws(
      () => b['time.parse_duration_ns']('secret-value'),
      (err: unknown) =>
        err instanceof PolicyEvaluationError &&
        err.code === 'builtin_error' &&
        err.message.startsWith('time.parse_duration_ns:') &&
        !err.message.includes('secret-value'),
    );
  });
});
