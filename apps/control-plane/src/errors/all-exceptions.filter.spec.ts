import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ArgumentsHost } from '@nestjs/common';
import { NotFoundException } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import { Logger } from '@portcullis/platform';
import { AllExceptionsFilter } from './all-exceptions.filter';
import { ConflictError } from './domain.error';

class FakeResponse {
  statusCode = 0;
  headersSent = false;
  headers: Record<string, string> = {};
  body = '';
  setHeader(k: string, v: string): void {
    this.headers[k] = v;
  }
  end(body: string): void {
    this.body = body;
  }
  destroy(): void {}
}

function run(err: unknown): { res: FakeResponse; logs: Record<string, unknown>[] } {
  const logs: Record<string, unknown>[] = [];
  const logger = new Logger('test', 'debug', (line) =>
    logs.push(JSON.parse(line) as Record<string, unknown>),
  );
  const res = new FakeResponse();
  const host = {
    switchToHttp: () => ({
      getResponse: () => res,
      getRequest: () => ({ method: 'POST', url: '/v1/bundles/x/versions?token=QUERY-SECRET' }),
    }),
  } as unknown as ArgumentsHost;
  new AllExceptionsFilter(logger).catch(err, host);
  return { res, logs };
}

describe('global exception filter', () => {
  it('an unknown error is a 500 with a correlation id and no internals, logged exactly once', () => {
    const { res, logs } = run(new Error('connect ECONNREFUSED postgres://cp:hunter2@db'));
    assert.equal(res.statusCode, 500);
    const body = JSON.parse(res.body) as {
      error: { code: string; message: string; correlation_id: string };
    };
    assert.equal(body.error.code, 'internal');
    assert.equal(body.error.message, 'internal error');
    assert.match(body.error.correlation_id, /^[0-9a-f-]{36}$/);
    assert.ok(!res.body.includes('hunter2') && !res.body.includes('ECONNREFUSED'));
    assert.equal(logs.length, 1);
    assert.equal(logs[0].correlation_id, body.error.correlation_id);
    assert.equal(logs[0].path, '/v1/bundles/x/versions', 'query strings are not logged');
    assert.ok(!JSON.stringify(logs).includes('QUERY-SECRET'), 'query strings are not logged');
  });

  it('a database password quoted in an unknown error reaches neither the log nor the body', () => {
    const { res, logs } = run(
      new Error('cannot reach postgres://cp:hunter2@db/cp or postgres://ro:sw0rdfish@replica/cp'),
    );
    assert.equal(res.statusCode, 500);
    assert.equal(logs.length, 1);
    const line = JSON.stringify(logs[0]);
    assert.ok(!line.includes('hunter2') && !line.includes('sw0rdfish'), line);
    assert.match(
      String(logs[0].error),
      /postgres:\/\/\*\*\*@db\/cp/,
      'the rest stays for the operator',
    );
    assert.match(String(logs[0].stack), /postgres:\/\/\*\*\*@replica\/cp/);
    assert.ok(!res.body.includes('hunter2') && !res.body.includes('sw0rdfish'));
    const driver = Object.assign(new Error('connect failed postgres://cp:hunter2@db'), {
      code: 'ECONNREFUSED',
    });
    const unavailable = run(driver);
    assert.equal(unavailable.res.statusCode, 503);
    assert.ok(!JSON.stringify(unavailable.logs).includes('hunter2'));
  });

  it('a domain error is mapped without logging', () => {
    const { res, logs } = run(new ConflictError('activated concurrently'));
    assert.equal(res.statusCode, 409);
    assert.deepEqual(JSON.parse(res.body), {
      error: { code: 'conflict', message: 'activated concurrently' },
    });
    assert.equal(logs.length, 0);
  });

  it('framework 404s keep their status with a stable code', () => {
    const { res } = run(new NotFoundException('Cannot GET /x'));
    assert.equal(res.statusCode, 404);
    assert.equal((JSON.parse(res.body) as { error: { code: string } }).error.code, 'not_found');
  });

  it('a locked or read-only database is a 503 with a correlation id, not a 500', () => {
    for (const code of ['SQLITE_BUSY', 'SQLITE_READONLY', '57P01', '08006']) {
      const driver = Object.assign(new Error('database is locked'), { code });
      const { res, logs } = run(new QueryFailedError('UPDATE bundles SET x = ?', [], driver));
      assert.equal(res.statusCode, 503, code);
      const body = JSON.parse(res.body) as { error: { code: string; correlation_id: string } };
      assert.equal(body.error.code, 'unavailable');
      assert.ok(!res.body.includes('UPDATE'), 'no SQL in the body');
      assert.equal(logs.length, 1);
      assert.equal(logs[0].correlation_id, body.error.correlation_id);
    }
    const { res } = run(
      new QueryFailedError('INSERT', [], Object.assign(new Error('x'), { code: '23502' })),
    );
    assert.equal(res.statusCode, 500, 'a constraint defect stays a 500');
  });
});
