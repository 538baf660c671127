import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { JsonObject } from '@portcullis/contracts';
import { applyLogMask, parseLogMaskRules, type LogMaskRule } from './log-mask';
import { Masker } from './masker';

const masker = new Masker(Buffer.alloc(32, 5));

function rules(value: unknown): LogMaskRule[] {
  const r = parseLogMaskRules(value);
  assert.ok(r.ok, r.ok ? '' : r.message);
  return r.rules;
}

function message(value: unknown): string {
  const r = parseLogMaskRules(value);
  assert.equal(r.ok, false, `${JSON.stringify(value)} must be refused`);
  return r.ok ? '' : r.message;
}

function event(): JsonObject {
  return {
    decision_id: 'd1',
    input: {
      request: {
        method: 'POST',
        body: {
          password: 'hunter2',
          card: 'pay 4111 1111 1111 1111',
          contact: { email: 'jane@example.com' },
        },
        headers: { 'x-api/key': 'k', 'a~b': 'c' },
      },
      items: ['a', 'b', 'c', 'd'],
    },
    result: { allow: true, reasons: [] },
    call: { bytes_in: 10, response_body: { encoding: 'utf8', data: 'ssn 123-45-6789' } },
  };
}

describe('log_mask rule parsing', () => {
  it('strings are remove rules and objects keep their op, with detect defaulting to redact', () => {
    assert.deepEqual(
      rules([
        '/input/request/body/password',
        { op: 'remove', path: '/call/response_body' },
        { op: 'upsert', path: '/input/request/body/card', value: '***' },
        { op: 'detect', path: '/input/request/body', detectors: ['credit_card', 'email'] },
        { op: 'detect', path: '/call', detectors: ['ssn'], strategy: 'hash' },
      ]),
      [
        { op: 'remove', path: '/input/request/body/password' },
        { op: 'remove', path: '/call/response_body' },
        { op: 'upsert', path: '/input/request/body/card', value: '***' },
        {
          op: 'detect',
          path: '/input/request/body',
          detectors: ['credit_card', 'email'],
          strategy: 'redact',
        },
        { op: 'detect', path: '/call', detectors: ['ssn'], strategy: 'hash' },
      ],
    );
    assert.deepEqual(rules([]), []);
  });

  it('paths outside /input, /result and /call are refused', () => {
    assert.equal(
      message(['/decision_id']),
      'log_mask[0] "/decision_id" : must start with /input, /result or /call',
    );
    assert.match(message(['/inputs/x']), /must start with \/input, \/result or \/call/);
    assert.match(message(['']), /must start with "\/"/);
    assert.match(message(['input/x']), /must start with "\/"/);
  });

  it('a malformed pointer escape is refused', () => {
    assert.match(message(['/input/a~2b']), /log_mask\[0\] "\/input\/a~2b" : invalid escape/);
  });

  it('unknown ops, keys, detectors and strategies are refused naming the item', () => {
    assert.match(
      message([{ op: 'erase', path: '/input' }]),
      /^log_mask\[0\]\.op "erase" : must be one of remove, upsert, detect/,
    );
    assert.match(message(['/input/a', { path: '/input' }]), /^log_mask\[1\]\.op is required/);
    assert.match(
      message([{ op: 'remove', path: '/input', value: 1 }]),
      /log_mask\[0\]: unknown key "value" for op "remove"/,
    );
    assert.match(
      message([{ op: 'detect', path: '/input', detectors: ['dna'] }]),
      /^log_mask\[0\]\.detectors\[0\] "dna" : unknown detector/,
    );
    assert.match(
      message([{ op: 'detect', path: '/input', detectors: [] }]),
      /must name at least one detector/,
    );
    assert.match(
      message([{ op: 'detect', path: '/input', detectors: ['email'], strategy: 'x' }]),
      /^log_mask\[0\]\.strategy "x" : unknown strategy/,
    );
    assert.match(message([{ op: 'upsert', path: '/input/a' }]), /log_mask\[0\]\.value is required/);
    assert.match(
      message([{ op: 'upsert', path: '/input', value: {} }]),
      /upsert needs a path below/,
    );
    assert.match(message([42]), /log_mask\[0\] must be a JSON pointer string or a rule object/);
    assert.match(message([{ op: 'remove', path: 5 }]), /log_mask\[0\]\.path must be a string/);
  });

  it('an upsert value never appears in an error message', () => {
    const m = message([{ op: 'upsert', path: '/elsewhere', value: 'hunter2-secret' }]);
    assert.equal(m.includes('hunter2'), false);
  });

  it('a result that is not an array is refused', () => {
    assert.match(
      message({ '/input/x': true }),
      /^log_mask must be a set \(JSON array\) of rules, got an object/,
    );
  });
});

describe('applyLogMask', () => {
  it('remove erases existing paths, lists them, and ignores missing ones', () => {
    const out = applyLogMask(
      event(),
      rules([
        '/input/request/body/password',
        '/input/request/nope',
        '/result/x/y',
        '/call/response_body',
      ]),
      masker,
    );
    const input = out.doc.input as { request: { body: JsonObject } };
    assert.equal('password' in input.request.body, false);
    assert.equal('response_body' in (out.doc.call as JsonObject), false);
    assert.deepEqual(out.report, {
      erased: ['/input/request/body/password', '/call/response_body'],
      masked: [],
    });
  });

  it('pointer escapes address keys with "/" and "~"', () => {
    const out = applyLogMask(
      event(),
      rules(['/input/request/headers/x-api~1key', '/input/request/headers/a~0b']),
      masker,
    );
    assert.deepEqual((out.doc.input as { request: { headers: JsonObject } }).request.headers, {});
    assert.equal(out.report.erased.length, 2);
  });

  it('removing several array elements removes the ones named, whatever the rule order', () => {
    const out = applyLogMask(
      event(),
      rules(['/input/items/0', '/input/items/2', '/input/items/9']),
      masker,
    );
    assert.deepEqual((out.doc.input as { items: string[] }).items, ['b', 'd']);
    assert.deepEqual(out.report.erased.sort(), ['/input/items/0', '/input/items/2']);
  });

  it('removing a whole root leaves it null, as the event contract requires', () => {
    const out = applyLogMask(event(), rules(['/result']), masker);
    assert.equal(out.doc.result, null);
    assert.deepEqual(out.report.erased, ['/result']);
  });

  it('upsert replaces or creates values below an existing root and lists them as masked', () => {
    const out = applyLogMask(
      event(),
      rules([
        { op: 'upsert', path: '/input/request/body/password', value: '**REDACTED**' },
        { op: 'upsert', path: '/input/request/meta/note/x', value: { why: 'created' } },
        { op: 'upsert', path: '/input/items/1', value: 'B' },
      ]),
      masker,
    );
    const input = out.doc.input as { request: JsonObject & { body: JsonObject }; items: string[] };
    assert.equal(input.request.body.password, '**REDACTED**');
    assert.deepEqual(input.request.meta, { note: { x: { why: 'created' } } });
    assert.deepEqual(input.items, ['a', 'B', 'c', 'd']);
    assert.deepEqual(out.report.masked, [
      '/input/request/body/password',
      '/input/request/meta/note/x',
      '/input/items/1',
    ]);
  });

  it('upsert never creates a root, a parent under a scalar, or an array element past the end', () => {
    const doc = { ...event(), result: null };
    const out = applyLogMask(
      doc,
      rules([
        { op: 'upsert', path: '/result/x', value: 1 },
        { op: 'upsert', path: '/input/request/method/x', value: 1 },
        { op: 'upsert', path: '/input/items/4', value: 'e' },
        { op: 'upsert', path: '/input/items/-', value: 'e' },
      ]),
      masker,
    );
    assert.deepEqual(out.doc, doc);
    assert.deepEqual(out.report, { erased: [], masked: [] });
  });

  it('detect masks what its detectors find below the path and lists the path only on a hit', () => {
    const out = applyLogMask(
      event(),
      rules([
        { op: 'detect', path: '/input/request/body', detectors: ['credit_card', 'email'] },
        { op: 'detect', path: '/call/response_body/data', detectors: ['ssn'], strategy: 'partial' },
        { op: 'detect', path: '/result', detectors: ['email'] },
        { op: 'detect', path: '/input/missing', detectors: ['email'] },
      ]),
      masker,
    );
    const body = (out.doc.input as { request: { body: JsonObject } }).request.body;
    assert.deepEqual(body, {
      password: 'hunter2',
      card: 'pay [REDACTED:credit_card]',
      contact: { email: '[REDACTED:email]' },
    });
    assert.equal(
      (out.doc.call as { response_body: { data: string } }).response_body.data,
      'ssn ***-**-6789',
    );
    assert.deepEqual(out.report, {
      erased: [],
      masked: ['/input/request/body', '/call/response_body/data'],
    });
  });

  it('removes run before upserts and detects, so a detect below a removed path is a no-op', () => {
    const out = applyLogMask(
      event(),
      rules([
        { op: 'detect', path: '/input/request/body/contact', detectors: ['email'] },
        '/input/request/body',
      ]),
      masker,
    );
    assert.deepEqual(out.report, { erased: ['/input/request/body'], masked: [] });
  });

  it('the input event is never mutated and untouched branches are shared, not copied', () => {
    const doc = event();
    const before = structuredClone(doc);
    const out = applyLogMask(
      doc,
      rules([
        '/input/request/body/password',
        { op: 'upsert', path: '/input/request/x', value: { y: 1 } },
        { op: 'detect', path: '/call', detectors: ['ssn'] },
      ]),
      masker,
    );
    assert.deepEqual(doc, before);
    assert.notEqual(out.doc, doc);
    assert.equal(out.doc.result, doc.result);
  });

  it('an upserted value is a copy, so the rule set can be reused safely', () => {
    const value = { nested: ['v'] };
    const r = rules([{ op: 'upsert', path: '/input/u', value }]);
    const out = applyLogMask(event(), r, masker);
    assert.deepEqual((out.doc.input as JsonObject).u, value);
    assert.notEqual((out.doc.input as JsonObject).u, value);
  });

  it('a pointer named twice removes one array element, not two', () => {
    const rules = parseLogMaskRules(['/input/list/1', { op: 'remove', path: '/input/list/1' }]);
    assert.ok(rules.ok);
    const out = applyLogMask(
      { input: { list: [1, 2, 3] } },
      rules.rules,
      new Masker(Buffer.alloc(32, 1)),
    );
    assert.deepEqual(out.doc, { input: { list: [1, 3] } });
    assert.deepEqual(out.report.erased, ['/input/list/1']);
  });
});
