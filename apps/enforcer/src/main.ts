import { ConfigError, Logger, errorMessage } from '@portcullis/platform';
import { loadEnforcerConfig } from './config/enforcer.config';
import { createEnforcer } from './enforcer.app';

async function main(): Promise<void> {
  let config;
  try {
    config = loadEnforcerConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      // Exit code 2 (as the control plane): a supervisor must not restart a misconfigured process.
      process.exit(2);
    }
    throw err;
  }
  const logger = new Logger('enforcer', config.logLevel);
  const enforcer = createEnforcer(config, { logger });
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping', { signal });
    // A second signal, or a stop that hangs, must not keep the process alive.
    setTimeout(() => process.exit(1), 15_000).unref();
    enforcer.stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error('stop failed', { error: errorMessage(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  await enforcer.start();
}

main().catch((err: unknown) => {
  process.stderr.write(`enforcer failed to start: ${errorMessage(err)}\n`);
  process.exit(1);
});
