import 'reflect-metadata';
import { Logger, loadConfigOrExit, redactUrl, runMain, stopOnSignals } from '@portcullis/platform';
import { createControlPlaneApp } from './app.factory';
import { loadControlPlaneConfig } from './config/control-plane.config';

async function main(): Promise<void> {
  const config = loadConfigOrExit(() => loadControlPlaneConfig(process.env));
  const logger = new Logger('control-plane', config.logLevel);
  const cp = await createControlPlaneApp(config);
  // Our own handlers rather than Nest's enableShutdownHooks, which re-raises the signal and so
  // exits 143 after a clean shutdown; a supervisor (npm start) should see 0.
  stopOnSignals(() => cp.close(), logger);
  logger.info('listening', {
    url: cp.url,
    port: cp.port,
    database: redactUrl(config.databaseUrl),
    nats: redactUrl(config.natsUrl),
  });
}

runMain('control-plane', main);
