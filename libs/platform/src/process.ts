import { ConfigError } from './config';
import { Logger, errorMessage } from './logger';

/** Exit code of a process whose configuration is invalid: a supervisor must not restart it. */
export const EXIT_BAD_CONFIG = 2;

/**
 * Validates configuration once at boot: a {@link ConfigError} prints its message (which names
 * the key) and exits {@link EXIT_BAD_CONFIG}; any other error propagates.
 */
export function loadConfigOrExit<T>(load: () => T): T {
  try {
    return load();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(EXIT_BAD_CONFIG);
    }
    throw err;
  }
}

/**
 * The one way a Portcullis process ends on SIGINT/SIGTERM: `stop` runs once, then the process
 * exits 0, or 1 if stopping failed or took longer than `deadlineMs`. A second signal is ignored
 * (the deadline still applies), so Ctrl-C twice never skips the clean stop.
 */
export function stopOnSignals(
  stop: () => Promise<void>,
  logger: Logger,
  deadlineMs = 15_000,
): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping', { signal });
    setTimeout(() => {
      logger.error('stop took too long; exiting', { deadline_ms: deadlineMs });
      process.exit(1);
    }, deadlineMs).unref();
    stop().then(
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
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/** Runs an app's async `main`; a start failure is logged as one JSON line and exits 1. */
export function runMain(component: string, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    new Logger(component).error('failed to start', { error: errorMessage(err) });
    process.exit(1);
  });
}
