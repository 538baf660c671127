import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { OpaOutputMapper } from './opa-output.mapper';

const TMP = '/tmp/portcullis-bundle-abc123';
const mapper = new OpaOutputMapper('bundle', TMP);

describe('opa output mapping', () => {
  it('check errors keep code, row and col and name the file as uploaded', () => {
    const out = JSON.stringify({
      errors: [
        {
          message: 'undefined function http.send',
          code: 'rego_type_error',
          location: { file: 'bundle/teams/crm.rego', row: 3, col: 6 },
        },
      ],
    });
    assert.deepEqual(mapper.checkErrors(out), [
      {
        code: 'rego_type_error',
        file: 'teams/crm.rego',
        row: 3,
        col: 6,
        message: 'undefined function http.send',
      },
    ]);
  });

  it('absolute temp paths never reach the caller, in file names or messages', () => {
    const out = JSON.stringify({
      errors: [
        {
          message: `conflict with ${TMP}/bundle/b.rego`,
          code: 'rego_compile_error',
          location: { file: `${TMP}/bundle/a.rego`, row: 1, col: 1 },
        },
      ],
    });
    const [p] = mapper.checkErrors(out);
    assert.equal(p.file, 'a.rego');
    assert.ok(!p.message.includes(TMP) && !p.message.includes('bundle/'), p.message);
  });

  it('a parse error OPA reports twice (short and with a hint) is reported once, with the hint', () => {
    const loc = { file: 'bundle/a.rego', row: 4, col: 0 };
    const out = JSON.stringify({
      errors: [
        { message: 'unexpected eof token', code: 'rego_parse_error', location: loc },
        {
          message: 'unexpected eof token: expected rule value term',
          code: 'rego_parse_error',
          location: loc,
        },
      ],
    });
    assert.deepEqual(
      mapper.checkErrors(out).map((p) => p.message),
      ['unexpected eof token: expected rule value term'],
    );
  });

  it('failing and erroring tests are each a problem at the test rule; passing tests are not', () => {
    const out = JSON.stringify([
      {
        location: { file: 'bundle/p_test.rego', row: 5, col: 1 },
        package: 'data.p_test',
        name: 'test_ok',
        duration: 1,
      },
      {
        location: { file: 'bundle/p_test.rego', row: 6, col: 1 },
        package: 'data.p_test',
        name: 'test_deny',
        fail: true,
      },
      {
        location: { file: 'bundle/p_test.rego', row: 9, col: 1 },
        package: 'data.p_test',
        name: 'test_boom',
        error: { code: 'eval_builtin_error', message: `${TMP}/bundle/p.rego:3: div by zero` },
      },
    ]);
    assert.deepEqual(mapper.testFailures(out), [
      {
        code: 'opa_test_failed',
        file: 'p_test.rego',
        row: 6,
        col: 1,
        message: 'test data.p_test.test_deny failed',
      },
      {
        code: 'opa_test_error',
        file: 'p_test.rego',
        row: 9,
        col: 1,
        message: 'test data.p_test.test_boom errored: p.rego:3: div by zero',
      },
    ]);
  });

  it('build errors in text form are located', () => {
    const out =
      'error: 1 error occurred: bundle/c/p.rego:2: rego_type_error: undefined function http.send\n';
    assert.deepEqual(mapper.buildErrors(out), [
      {
        code: 'rego_type_error',
        file: 'c/p.rego',
        row: 2,
        col: null,
        message: 'undefined function http.send',
      },
    ]);
  });

  it('a missing entrypoint says which rule to define', () => {
    const [p] = mapper.buildErrors(
      'error: entrypoint "portcullis/decision" does not refer to a rule or policy decision\n',
    );
    assert.equal(p.code, 'entrypoint_undefined');
    assert.match(p.message, /portcullis\.decision/);
  });

  it('output that is not JSON still yields one problem with opa’s first line, not a 500', () => {
    const [p] = mapper.checkErrors(`panic: something at ${TMP}/bundle/x.rego\nstack...`);
    assert.equal(p.code, 'opa_check_failed');
    assert.equal(p.message, 'panic: something at x.rego');
  });
});
