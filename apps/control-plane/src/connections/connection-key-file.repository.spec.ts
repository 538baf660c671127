import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, Logger } from '@portcullis/platform';
import { ConnectionKeyFileRepository } from './connection-key-file.repository';

describe('connection key file', () => {
  let dir: string;
  const lines: string[] = [];
  const repo = () =>
    new ConnectionKeyFileRepository(new Logger('t', 'debug', (l) => lines.push(l)));

  before(() => (dir = mkdtempSync(join(tmpdir(), 'cp-keyfile-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a missing key file is generated owner-only, with one 32-byte key, and no key material is logged', () => {
    const path = join(dir, 'sub', 'connection-keys');
    const keys = repo().loadOrCreate(path);
    assert.equal(keys.length, 1);
    assert.equal(keys[0].key.length, 32);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const b64 = keys[0].key.toString('base64');
    assert.ok(lines.length >= 1 && lines.every((l) => !l.includes(b64)), 'no key in the log');
    assert.match(lines.join('\n'), /generated a key file/);
  });

  it('an existing key file is reused, not regenerated', () => {
    const path = join(dir, 'sub', 'connection-keys');
    const before = readFileSync(path, 'utf8');
    const keys = repo().loadOrCreate(path);
    assert.equal(readFileSync(path, 'utf8'), before);
    assert.equal(`${keys[0].kid}:${keys[0].key.toString('base64')}\n`, before);
  });

  it('a key file others can read is refused naming CONNECTION_KEY_FILE', () => {
    const path = join(dir, 'open-keys');
    writeFileSync(path, `k1:${Buffer.alloc(32, 1).toString('base64')}\n`);
    chmodSync(path, 0o644);
    assert.throws(
      () => repo().loadOrCreate(path),
      (err: unknown) => err instanceof ConfigError && err.key === 'CONNECTION_KEY_FILE',
    );
  });

  it('a malformed key file is refused naming CONNECTION_KEY_FILE and the key id', () => {
    const path = join(dir, 'short-keys');
    writeFileSync(path, `k1:${Buffer.alloc(16, 1).toString('base64')}\n`, { mode: 0o600 });
    assert.throws(
      () => repo().loadOrCreate(path),
      (err: unknown) =>
        err instanceof ConfigError && err.key === 'CONNECTION_KEY_FILE' && /"k1"/.test(err.message),
    );
  });
});
