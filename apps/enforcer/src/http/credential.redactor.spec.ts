import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import {
  CredentialRedactor,
  bodyNeedles,
  credentialNeedles,
  withoutCredentialHeaders,
} from './credential.redactor';

const SECRET = 'upstream-secret-0123456789';

async function through(chunks: string[], needles: string[]): Promise<string> {
  const redactor = new CredentialRedactor(bodyNeedles(needles));
  return text(Readable.from(chunks.map((c) => Buffer.from(c))).pipe(redactor));
}

describe('the injected credential never comes back to the caller', () => {
  it('an echoed credential is overwritten in the body, with the same length', async () => {
    const body = `{"authorization":"Bearer ${SECRET}"}`;
    const out = await through([body], [SECRET]);
    assert.ok(!out.includes(SECRET));
    assert.equal(out.length, body.length, 'Content-Length stays true');
  });

  it('an echo split across chunks at every position is still caught', async () => {
    const body = `before ${SECRET} after`;
    for (let cut = 1; cut < body.length; cut++) {
      const out = await through([body.slice(0, cut), body.slice(cut)], [SECRET]);
      assert.ok(!out.includes(SECRET), `cut at ${cut}`);
      assert.equal(out.length, body.length);
    }
  });

  it('a body without the credential passes unchanged', async () => {
    const body = 'nothing to see here '.repeat(100);
    assert.equal(await through([body.slice(0, 7), body.slice(7)], [SECRET]), body);
  });

  it('basic credentials are caught as the password and as the base64 pair the upstream saw', () => {
    const needles = credentialNeedles({ type: 'basic', username: 'svc', password: 'pa55word!' });
    assert.ok(needles.includes('pa55word!'));
    assert.ok(needles.includes(Buffer.from('svc:pa55word!').toString('base64')));
  });

  it('escaped echoes are caught too: JSON with \\/ and URL encoding', async () => {
    const secret = 'p4ss/w0rd+long"x';
    const needles = credentialNeedles({ type: 'bearer', token: secret });
    const body = `{"a":"p4ss\\/w0rd+long\\"x","b":"${JSON.stringify(secret).slice(1, -1)}"} pw=${encodeURIComponent(secret)}`;
    const out = await through([body], needles);
    assert.ok(!out.includes('w0rd'), out);
    assert.equal(out.length, body.length);
  });

  it('short secrets are not searched for in bodies, but headers carrying them are still dropped', () => {
    assert.deepEqual(bodyNeedles(['abc']), []);
    const headers = withoutCredentialHeaders(
      { 'x-echo-key': 'abc', 'content-type': 'application/json', 'set-cookie': ['a=1', 'k=abc'] },
      ['abc'],
    );
    assert.deepEqual(headers, { 'content-type': 'application/json' });
  });
});
