import 'reflect-metadata';
import { ConfigError, Logger, errorMessage, redactUrl } from '@portcullis/platform';
import { createControlPlaneApp } from './app.factory';
import { loadControlPlaneConfig } from './config/control-plane.config';

async function main(): Promise<void> {
  let config;
  try {
    config = loadControlPlaneConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = new Logger('control-plane', config.logLevel);
  const cp = await createControlPlaneApp(config);
  // Our own handlers rather than Nest's enableShutdownHooks, which re-raises the signal and so
  // exits 143 after a clean shutdown; a supervisor (npm start) should see 0.
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      if (stopping) return;
      stopping = true;
      logger.info('stopping', { signal });
      cp.close().then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error('shutdown failed', { error: errorMessage(err) });
          process.exit(1);
        },
      );
    });
  }
  logger.info('listening', {
    url: cp.url,
    port: cp.port,
    database: redactUrl(config.databaseUrl),
    nats: redactUrl(config.natsUrl),
  });
}

main().catch((err: unknown) => {
  new Logger('control-plane').error('failed to start', { error: errorMessage(err) });
  process.exit(1);
});
