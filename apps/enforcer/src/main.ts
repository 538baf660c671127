import { Logger, loadConfigOrExit, runMain, stopOnSignals } from '@portcullis/platform';
import { loadEnforcerConfig } from './config/enforcer.config';
import { createEnforcer } from './enforcer.app';

async function main(): Promise<void> {
  const config = loadConfigOrExit(() => loadEnforcerConfig());
  const logger = new Logger('enforcer', config.logLevel);
  const enforcer = createEnforcer(config, { logger });
  // Installed before start: a signal during start still stops what has started.
  stopOnSignals(() => enforcer.stop(), logger);
  await enforcer.start();
}

runMain('enforcer', main);
