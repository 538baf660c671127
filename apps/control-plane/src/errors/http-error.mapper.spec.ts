import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BundleRejectedError, NotFoundError, UnauthenticatedError } from './domain.error';
import { ErrorCode } from './error-code';
import { httpStatusOf, toHttpError } from './http-error.mapper';

describe('domain error to HTTP mapping', () => {
  it('every error code maps to a distinct 4xx/5xx status', () => {
    const statuses = Object.values(ErrorCode).map(httpStatusOf);
    assert.equal(new Set(statuses).size, statuses.length);
    for (const s of statuses) assert.ok(s >= 400 && s < 600);
  });

  it('a bad policy is a 422 carrying every problem, not a 500', () => {
    const problems = [
      { code: 'rego_parse_error', file: 'a.rego', row: 3, col: 1, message: 'unexpected eof' },
    ];
    const out = toHttpError(new BundleRejectedError(problems, 'check'));
    assert.equal(out.status, 422);
    assert.deepEqual(out.body, { errors: problems });
  });

  it('a refused token is a 401 with the token problem as code and a Bearer challenge', () => {
    const out = toHttpError(new UnauthenticatedError('token_expired', 'token has expired'));
    assert.equal(out.status, 401);
    assert.equal(out.headers['www-authenticate'], 'Bearer');
    assert.deepEqual(out.body, { error: { code: 'token_expired', message: 'token has expired' } });
  });

  it('other errors use the { error: { code, message } } shape', () => {
    assert.deepEqual(toHttpError(new NotFoundError('bundle x not found')).body, {
      error: { code: 'not_found', message: 'bundle x not found' },
    });
  });
});
