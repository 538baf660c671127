// The sample "customers" API of the dev stack (`npm start`): it stands for the internal service an
// enforcer protects. Not a Portcullis component; never deploy it.
import { Logger, loadConfigOrExit, runMain, stopOnSignals } from '@portcullis/platform';
import { loadSampleUpstreamConfig } from './sample-upstream.config';
import { createSampleUpstream } from './sample-upstream.server';

async function main(): Promise<void> {
  const log = new Logger('sample-upstream');
  const { port, host, expect } = loadConfigOrExit(() => loadSampleUpstreamConfig());
  const server = await createSampleUpstream({ port, host, expect });
  // Which credential kinds are demanded, never their values.
  log.info('listening', {
    url: server.url,
    port: server.port,
    expects: Object.keys(expect).join(',') || 'nothing',
  });
  stopOnSignals(() => server.stop(), log);
}

runMain('sample-upstream', main);
