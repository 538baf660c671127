import { resolve } from 'node:path';

/**
 * Absolute path of the committed OPA capabilities file (libs/policy-runtime/capabilities.json):
 * exactly the builtins an enforcer can evaluate (native to OPA's WASM target, implemented by the
 * opa-wasm SDK, or provided by this runtime). The control plane passes it to
 * `opa build --capabilities` so that a policy using anything else is rejected at upload.
 * Regenerate with `node scripts/gen-capabilities.mjs`; an integration test fails on drift.
 */
// Resolved from dist/libs/policy-runtime/src: the repository root is four levels up.
export const CAPABILITIES_FILE = resolve(
  __dirname,
  '..',
  '..',
  '..',
  '..',
  'libs',
  'policy-runtime',
  'capabilities.json',
);
