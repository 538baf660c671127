// Test support (not exported from the package): OPA's own evaluator, so tests can compare our
// WASM path with it. Compiling goes through compileRego/buildRego in @portcullis/testing.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runOpa, withPolicyDir, type RegoModules } from '@portcullis/testing';

/** Evaluates `data.portcullis.decision` with OPA's own evaluator; `undefined` when the rule is undefined. */
export function opaEval(modules: RegoModules, input: unknown, data?: unknown): unknown {
  return withPolicyDir(modules, data, (dir) => {
    const args = ['eval', '-f', 'json', '-d', join(dir, 'src'), 'data.portcullis.decision'];
    if (input !== undefined) {
      writeFileSync(join(dir, 'input.json'), JSON.stringify(input));
      args.push('--input', join(dir, 'input.json'));
    }
    const run = runOpa(args);
    if (run.status !== 0)
      throw new Error(`opa eval failed (exit ${run.status}): ${run.stderr || run.stdout}`);
    const out = JSON.parse(run.stdout) as { result?: { expressions: { value: unknown }[] }[] };
    return out.result?.[0]?.expressions[0]?.value;
  });
}
