import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidRequestError, PayloadTooLargeError } from '../errors/domain.error';
import { BUNDLE_LIMITS, BundleUploadValidator } from './bundle-upload.validator';

const ok = 'package portcullis\n';

describe('bundle upload validation', () => {
  for (const path of [
    '../escape.rego',
    'a/../../b.rego',
    './a.rego',
    '/etc/a.rego',
    'a\\b.rego',
    'a//b.rego',
    '.hidden.rego',
    'a/.x/b.rego',
  ]) {
    it(`module path ${JSON.stringify(path)} is refused before touching the file system`, () => {
      assert.throws(() => BundleUploadValidator.modulePath(path), InvalidRequestError);
    });
  }

  it('a module path must end with .rego (data and manifests cannot be smuggled in)', () => {
    assert.throws(() => BundleUploadValidator.modulePath('data.json'), InvalidRequestError);
    assert.throws(() => BundleUploadValidator.modulePath('.manifest'), InvalidRequestError);
  });

  it('nested relative module paths are accepted as given', () => {
    assert.equal(
      BundleUploadValidator.modulePath('teams/crm/http_rules.rego'),
      'teams/crm/http_rules.rego',
    );
  });

  it('a path nested deeper than the cap is refused', () => {
    const deep = `${Array.from({ length: BUNDLE_LIMITS.maxPathDepth }, () => 'd').join('/')}/x.rego`;
    assert.throws(() => BundleUploadValidator.modulePath(deep), InvalidRequestError);
  });

  it('bundle names that could not be a NATS key token are refused', () => {
    for (const name of ['Default', 'a.b', 'a*', '', '-x', 'x'.repeat(64)]) {
      assert.throws(() => BundleUploadValidator.bundleName(name), InvalidRequestError, name);
    }
  });

  it('modules must be a non-empty object of strings', () => {
    assert.throws(
      () => BundleUploadValidator.upload('default', { modules: [] }),
      InvalidRequestError,
    );
    assert.throws(
      () => BundleUploadValidator.upload('default', { modules: {} }),
      InvalidRequestError,
    );
    assert.throws(
      () => BundleUploadValidator.upload('default', { modules: { 'a.rego': 1 } }),
      InvalidRequestError,
    );
  });

  it('two paths differing only in case are refused', () => {
    assert.throws(
      () => BundleUploadValidator.upload('default', { modules: { 'A.rego': ok, 'a.rego': ok } }),
      InvalidRequestError,
    );
  });

  it('data must be an object', () => {
    assert.throws(
      () => BundleUploadValidator.upload('default', { modules: { 'a.rego': ok }, data: [1] }),
      InvalidRequestError,
    );
    assert.throws(
      () => BundleUploadValidator.upload('default', { modules: { 'a.rego': ok }, data: 'x' }),
      InvalidRequestError,
    );
  });

  it('a module above the size cap is 413, not a compiler run', () => {
    const big = 'x'.repeat(BUNDLE_LIMITS.maxModuleBytes + 1);
    assert.throws(
      () => BundleUploadValidator.upload('default', { modules: { 'a.rego': big } }),
      PayloadTooLargeError,
    );
  });

  it('more modules than the cap is 413', () => {
    const modules = Object.fromEntries(
      Array.from({ length: BUNDLE_LIMITS.maxModules + 1 }, (_, i) => [`m${i}.rego`, ok]),
    );
    assert.throws(() => BundleUploadValidator.upload('default', { modules }), PayloadTooLargeError);
  });

  it('a valid upload keeps modules and data and defaults activate to false', () => {
    const u = BundleUploadValidator.upload('default', {
      modules: { 'a.rego': ok },
      data: { k: 1 },
    });
    assert.deepEqual(u, {
      name: 'default',
      modules: { 'a.rego': ok },
      data: { k: 1 },
      activate: false,
    });
  });

  it('version path parameters must be positive integers', () => {
    assert.equal(BundleUploadValidator.version('12'), 12);
    for (const v of ['0', '-1', '1.5', '01', 'latest', '9999999999']) {
      assert.throws(() => BundleUploadValidator.version(v), InvalidRequestError, v);
    }
  });

  it('a module path that is also another module’s directory is refused (it could not be written)', () => {
    for (const modules of [
      { 'a.rego': ok, 'a.rego/b.rego': ok },
      { 'x/A.rego/b.rego': ok, 'x/a.rego': ok },
    ]) {
      assert.throws(
        () => BundleUploadValidator.upload('default', { modules }),
        (e: unknown) => e instanceof InvalidRequestError && /directory/.test(e.message),
      );
    }
  });

  it('data nested deeper than the limit is refused without overflowing the stack', () => {
    let data: unknown = 1;
    for (let i = 0; i < 200_000; i++) data = { a: data };
    assert.throws(
      () => BundleUploadValidator.upload('default', { modules: { 'a.rego': ok }, data }),
      (e: unknown) => e instanceof InvalidRequestError && /nested deeper/.test(e.message),
    );
    let within: unknown = [];
    // { x: [[…]] } with the innermost array exactly at the limit.
    for (let i = 3; i < BUNDLE_LIMITS.maxDataDepth; i++) within = [within];
    const accepted = BundleUploadValidator.upload('default', {
      modules: { 'a.rego': ok },
      data: { x: within },
    });
    assert.ok(accepted.data.x);
  });

  it('data keys such as constructor and __proto__ are kept exactly as uploaded', () => {
    const body = JSON.parse(
      '{"modules":{"a.rego":"package portcullis\\n"},"data":{"constructor":{"prototype":{"a":1}},"__proto__":{"b":2}}}',
    ) as unknown;
    const upload = BundleUploadValidator.upload('default', body);
    assert.equal(
      JSON.stringify(upload.data),
      '{"constructor":{"prototype":{"a":1}},"__proto__":{"b":2}}',
    );
  });

  it('a body that is not a JSON object, or has unknown fields, is refused', () => {
    for (const body of [undefined, null, [], 'x', 7]) {
      assert.throws(() => BundleUploadValidator.upload('default', body), InvalidRequestError);
    }
    assert.throws(
      () => BundleUploadValidator.upload('default', { modules: { 'a.rego': ok }, wasm: 'AA' }),
      (e: unknown) => e instanceof InvalidRequestError && /"wasm"/.test(e.message),
    );
  });
});
