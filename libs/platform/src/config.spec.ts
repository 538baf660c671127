import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, EnvReader, redactUrl } from './config';
import { Lifecycle, type Component, type Health } from './lifecycle';

describe('EnvReader', () => {
  it('a malformed value stops boot with an error naming the key', () => {
    const env = new EnvReader({ CP_PORT: 'eighty' });
    assert.throws(
      () => env.port('CP_PORT', 8700),
      (e: ConfigError) => e.key === 'CP_PORT' && /integer/.test(e.message),
    );
  });

  it('out-of-range ports and unknown enum values are refused', () => {
    assert.throws(() => new EnvReader({ P: '70000' }).port('P', 1), /P must be <= 65535/);
    assert.throws(
      () => new EnvReader({ M: 'sideways' }).oneOf('M', ['open', 'closed'], 'closed'),
      /M must be one of/,
    );
  });

  it('defaults apply to unset and blank values', () => {
    assert.equal(new EnvReader({ P: ' ' }).port('P', 8800), 8800);
    assert.equal(new EnvReader({}).bool('B', true), true);
  });

  it('a URL error never repeats the password it contained', () => {
    assert.throws(
      () => new EnvReader({ U: 'ftp://user:hunter2@db' }).url('U'),
      (e: Error) => !e.message.includes('hunter2'),
    );
    assert.equal(redactUrl('postgres://u:secret@h/db'), 'postgres://***@h/db');
  });

  it('every URL in a text loses its userinfo, and nothing else is eaten', () => {
    assert.equal(
      redactUrl('from postgres://a:one@h1/db to nats://b:two@h2:4222 (user@example.com)'),
      'from postgres://***@h1/db to nats://***@h2:4222 (user@example.com)',
    );
  });
});

class Probe implements Component {
  state: Health['state'] = 'stopped';
  constructor(
    readonly name: string,
    private readonly log: string[],
    private readonly failStart = false,
  ) {}
  async start(): Promise<void> {
    if (this.failStart) throw new Error(`${this.name} failed`);
    this.log.push(`start ${this.name}`);
    this.state = 'ok';
  }
  async stop(): Promise<void> {
    this.log.push(`stop ${this.name}`);
    this.state = 'stopped';
  }
  health(): Health {
    return { state: this.state };
  }
}

describe('Lifecycle', () => {
  it('stops components in reverse start order', async () => {
    const log: string[] = [];
    const l = new Lifecycle([new Probe('a', log), new Probe('b', log)]);
    await l.start();
    assert.equal(l.report().ready, true);
    await l.stop();
    assert.deepEqual(log, ['start a', 'start b', 'stop b', 'stop a']);
  });

  it('a failed start stops what had already started and is not ready', async () => {
    const log: string[] = [];
    const l = new Lifecycle([new Probe('a', log), new Probe('b', log, true)]);
    await assert.rejects(l.start(), /b failed/);
    assert.deepEqual(log, ['start a', 'stop a']);
    assert.equal(l.report().ready, false);
  });
});
