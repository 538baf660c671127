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
});
