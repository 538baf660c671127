import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ConnectionSecretCipher } from './connection-secret.cipher';
import type { ConnectionEntity } from './connection.entity';
import { toConnectionDto } from './connection.mapper';

describe('connection DTO mapping', () => {
  it('a DTO never contains the secret, its ciphertext or its key id', () => {
    const cipher = new ConnectionSecretCipher([{ kid: 'kid-7', key: randomBytes(32) }]);
    const sealed = cipher.encrypt(
      'crm',
      Buffer.from(JSON.stringify({ type: 'basic', username: 'svc-user', password: 'pw-secret' })),
    );
    const row: ConnectionEntity = {
      name: 'crm',
      type: 'http',
      url: 'https://crm.internal/',
      labels: '{"env":"prod"}',
      credentialType: 'basic',
      credentialHeaderName: null,
      secretKeyId: sealed.kid,
      secretCiphertext: sealed.ciphertext,
      credentialsRotatedAtMs: 1_700_000_000_000,
      enforcers: '["crm-eu-1","crm-eu-2"]',
      revision: 2,
      createdBy: 'alice',
      createdAtMs: 1_600_000_000_000,
      updatedBy: 'bob',
      updatedAtMs: 1_700_000_000_000,
    };
    const dto = toConnectionDto(row);
    const json = JSON.stringify(dto);
    for (const forbidden of ['svc-user', 'pw-secret', sealed.ciphertext, 'kid-7'])
      assert.ok(!json.includes(forbidden), `DTO leaks ${forbidden}`);
    assert.deepEqual(dto.credentials, {
      type: 'basic',
      set: true,
      rotated_at: new Date(1_700_000_000_000).toISOString(),
    });
    assert.equal(dto.updated_by, 'bob');
    assert.deepEqual(dto.enforcers, ['crm-eu-1', 'crm-eu-2'], 'the allow-list is shown');
  });

  it('a header credential shows its header name (not secret) and nothing else', () => {
    const dto = toConnectionDto({
      name: 'crm',
      type: 'http',
      url: 'https://crm.internal/',
      labels: '{}',
      credentialType: 'header',
      credentialHeaderName: 'X-Api-Key',
      secretKeyId: 'k',
      secretCiphertext: 'AAAA',
      credentialsRotatedAtMs: 1,
      enforcers: '["*"]',
      revision: 1,
      createdBy: 'a',
      createdAtMs: 1,
      updatedBy: 'a',
      updatedAtMs: 1,
    });
    assert.deepEqual(Object.keys(dto.credentials ?? {}).sort(), [
      'header_name',
      'rotated_at',
      'set',
      'type',
    ]);
  });
});
