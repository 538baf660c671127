// The built code the bench drives: the e2e stack helpers, the libs, and the app entry points.
// Everything comes from dist/ (the bench builds first unless --no-build).
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ROOT } from '../tools.mjs';

const require = createRequire(import.meta.url);
const dist = (...p) => require(join(ROOT, 'dist', ...p));

export const load = () => ({
  ...dist('e2e', 'support', 'stack.js'),
  ...dist('e2e', 'support', 'app-process.js'),
  policies: dist('e2e', 'support', 'policies.js'),
  testing: dist('libs', 'testing', 'src', 'index.js'),
  contracts: dist('libs', 'contracts', 'src', 'index.js'),
  runtime: dist('libs', 'policy-runtime', 'src', 'index.js'),
  enforcerEntry: join(ROOT, 'dist', 'apps', 'enforcer', 'src', 'main.js'),
  natsTransport: require('@nats-io/transport-node'),
  jetstream: require('@nats-io/jetstream'),
  BetterSqlite: require('better-sqlite3'),
});
