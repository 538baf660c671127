// The sample "customers" API of the dev stack (`npm start`): it stands for the internal service an
// enforcer protects. Not a Portcullis component; never deploy it.
import { ConfigError, EnvReader, Logger, errorMessage } from '@portcullis/platform';
import { createSampleUpstream } from './sample-upstream.server';

async function main(): Promise<void> {
  const log = new Logger('sample-upstream');
  let port: number;
  let host: string;
  try {
    const env = new EnvReader();
    port = env.port('SAMPLE_UPSTREAM_PORT', 8901);
    host = env.string('SAMPLE_UPSTREAM_HOST', '127.0.0.1');
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const server = await createSampleUpstream({ port, host });
  log.info('listening', { url: server.url, port: server.port });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal });
    server.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error('stop failed', { error: errorMessage(err) });
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`sample-upstream failed to start: ${errorMessage(err)}\n`);
  process.exit(1);
});
