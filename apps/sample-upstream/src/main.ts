// The sample "customers" API of the dev stack (`npm start`): it stands for the internal service an
// enforcer protects. Not a Portcullis component; never deploy it.
import { EnvReader, Logger, loadConfigOrExit, runMain, stopOnSignals } from '@portcullis/platform';
import { createSampleUpstream } from './sample-upstream.server';

async function main(): Promise<void> {
  const log = new Logger('sample-upstream');
  const { port, host } = loadConfigOrExit(() => {
    const env = new EnvReader();
    return {
      port: env.port('SAMPLE_UPSTREAM_PORT', 8901),
      host: env.string('SAMPLE_UPSTREAM_HOST', '127.0.0.1'),
    };
  });
  const server = await createSampleUpstream({ port, host });
  log.info('listening', { url: server.url, port: server.port });
  stopOnSignals(() => server.stop(), log);
}

runMain('sample-upstream', main);
