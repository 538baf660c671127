import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@portcullis/testing';
import {
  SAMPLE_CARD_NUMBERS,
  SAMPLE_EMAILS,
  SAMPLE_SSNS,
} from '../apps/sample-upstream/src/customers.data';
import { RecordingUpstream } from '../apps/enforcer/test/recording-upstream.fixture';
import { postgresSkipReason } from './support/postgres';
import { Stack, type HttpResult, type StackDatabase } from './support/stack';
import {
  EXAMPLE_MASK_STRATEGY_CLAIM,
  EXAMPLE_PII_READ_SCOPE,
  EXAMPLE_POLICY_REASONS,
  examplePolicy,
} from './support/policies';

/** A team's rules for the e2e connection `vault`: crm-admins may call it. */
const VAULT_RULES = `# METADATA
# title: e2e vault rules
# description: Admins may call the vault connection; used to test injected credentials.
package portcullis.rules.vault

import rego.v1

allow contains "crm-admin may call vault" if {
	input.connection.name == "vault"
	"crm-admin" in object.get(input, ["identity", "claims", "roles"], [])
}
`;

/** Digits of a card number as some systems store it (no separators): scanned for as well. */
const digitsOnly = (s: string) => s.replace(/\D/g, '');

/** Every raw sample value a masked response or any store must never show. */
const SENSITIVE = [...SAMPLE_CARD_NUMBERS, ...SAMPLE_SSNS];

function assertNoneOf(text: string, values: readonly string[], what: string): void {
  for (const v of values) assert.ok(!text.includes(v), `${what} contains ${v}`);
}

const VARIANTS: { database: StackDatabase; skip: string | false }[] = [
  { database: 'sqlite', skip: false },
  { database: 'postgres', skip: postgresSkipReason() },
];

for (const variant of VARIANTS) {
  describe(
    `guardrails in the data path on ${variant.database} (example policy, injected credentials, masking, records)`,
    { skip: variant.skip },
    () => {
      let stack: Stack;
      let recorder: RecordingUpstream;
      let reader: string;
      let admin: string;
      const secrets = {
        bearer: `upstream-bearer-${process.pid}-A`,
        rotated: `upstream-bearer-${process.pid}-B`,
        apiKey: `upstream-api-key-${process.pid}`,
      };

      before(async () => {
        stack = await Stack.start({
          label: `guardrails-${variant.database}`,
          database: variant.database,
        });
        recorder = new RecordingUpstream();
        await recorder.start();
        const version = await stack.publish({
          ...examplePolicy(),
          'rules/vault.rego': VAULT_RULES,
        });
        await stack.waitForEnforcerVersion(stack.enforcer, version);
        reader = await stack.token('fn-guard-reader', { roles: ['crm-reader'] });
        admin = await stack.token('fn-guard-admin', { roles: ['crm-admin', 'crm-reader'] });
      });
      after(async () => {
        await recorder?.stop();
        await stack?.stop();
      });

      /** Calls `path` until `ok` holds (a connection change reaching the enforcer); returns that answer. */
      async function until(
        method: string,
        path: string,
        opts: { token: string; headers?: Record<string, string> },
        ok: (res: HttpResult) => boolean,
        what: string,
      ): Promise<HttpResult> {
        let last: HttpResult | null = null;
        await waitFor(
          async () => ok((last = await stack.proxy(method, path, opts))),
          20_000,
          what,
        ).catch((err: unknown) => {
          throw new Error(`${String(err)}; last answer ${last?.status}: ${last?.text ?? ''}`);
        });
        if (last === null) throw new Error('no answer');
        return last;
      }

      const lastSeen = () => {
        const seen = recorder.seen.at(-1);
        assert.ok(seen, 'the upstream received a call');
        return seen;
      };

      describe('injected credentials', () => {
        it('the upstream receives the connection credential and never the caller token', async () => {
          const created = await stack.api('POST', '/v1/connections', {
            name: 'vault',
            type: 'http',
            url: recorder.url,
            labels: { team: 'platform' },
            credentials: { type: 'bearer', token: secrets.bearer },
          });
          assert.equal(created.status, 201, created.text);
          await until(
            'GET',
            '/vault/probe',
            { token: admin },
            (r) => r.status === 200,
            'connection vault to be served with its credential',
          );
          const seen = lastSeen();
          assert.equal(seen.headers.authorization, `Bearer ${secrets.bearer}`);
          assert.ok(
            !JSON.stringify(seen.headers).includes(admin),
            'the caller token never arrives',
          );
        });

        it('an upstream that echoes the request back cannot hand the credential to the caller', async () => {
          // The recording upstream answers with the request it received, injected Authorization included.
          const res = await stack.proxy('GET', '/vault/echo-me', { token: admin });
          assert.equal(res.status, 200, res.text);
          assert.ok(res.text.includes('authorization'), 'the echo is there');
          assert.ok(!res.text.includes(secrets.bearer), 'but not the credential');
        });

        it('connection secrets cannot be read back through the API', async () => {
          for (const path of ['/v1/connections', '/v1/connections/vault']) {
            const res = await stack.api('GET', path);
            assert.equal(res.status, 200, res.text);
            assertNoneOf(res.text, Object.values(secrets), `GET ${path}`);
          }
          const one = await stack.api('GET', '/v1/connections/vault');
          const creds = (one.body as { credentials: Record<string, unknown> }).credentials;
          assert.equal(creds.type, 'bearer');
          assert.equal(creds.set, true);
          assert.equal(typeof creds.rotated_at, 'string');
        });

        it('rotating the secret takes effect without restarting the enforcer', async () => {
          const pid = stack.enforcer.app.pid;
          const res = await stack.api('PATCH', '/v1/connections/vault', {
            credentials: { type: 'bearer', token: secrets.rotated },
          });
          assert.equal(res.status, 200, res.text);
          await until(
            'GET',
            '/vault/rotated',
            { token: admin },
            () => lastSeen().headers.authorization === `Bearer ${secrets.rotated}`,
            'the rotated credential to be injected',
          );
          assert.equal(stack.enforcer.app.pid, pid, 'same enforcer process');
        });

        it("a caller-supplied header named like the connection's credential is replaced, not forwarded", async () => {
          const res = await stack.api('PATCH', '/v1/connections/vault', {
            credentials: { type: 'header', name: 'X-Api-Key', value: secrets.apiKey },
          });
          assert.equal(res.status, 200, res.text);
          await until(
            'GET',
            '/vault/header',
            { token: admin, headers: { 'x-api-key': 'caller-forged-key' } },
            () => lastSeen().headers['x-api-key'] === secrets.apiKey,
            'the header credential to be injected',
          );
          const seen = lastSeen();
          assert.ok(!JSON.stringify(seen.headers).includes('caller-forged-key'));
          assert.equal(seen.headers.authorization, undefined, 'the old bearer is gone too');
        });

        it('a connection whose allow-list names only another enforcer is 503 connection_unavailable here', async () => {
          const limited = await stack.api('PATCH', '/v1/connections/vault', {
            enforcers: ['some-other-enforcer'],
          });
          assert.equal(limited.status, 200, limited.text);
          const before = recorder.seen.length;
          const res = await until(
            'GET',
            '/vault/limited',
            { token: admin },
            (r) => r.status === 503,
            'the credential to be withdrawn from this enforcer',
          );
          assert.equal(
            (res.body as { error: { code: string } }).error.code,
            'connection_unavailable',
          );
          assert.equal(
            recorder.seen.length,
            before,
            'nothing went upstream without the credential',
          );
          // Listing this enforcer again restores the credential: the allow-list was the cause.
          const relisted = await stack.api('PATCH', '/v1/connections/vault', {
            enforcers: [stack.enforcer.id],
          });
          assert.equal(relisted.status, 200, relisted.text);
          await until(
            'GET',
            '/vault/relisted',
            { token: admin },
            (r) => r.status === 200 && lastSeen().headers['x-api-key'] === secrets.apiKey,
            'the credential to be sealed to this enforcer again',
          );
        });
      });

      describe('request guards of the example policy', () => {
        const denied = async (
          method: string,
          path: string,
          reason: string,
          body?: string,
        ): Promise<void> => {
          const res = await stack.proxy(method, path, {
            token: admin,
            ...(body === undefined
              ? {}
              : { body, headers: { 'content-type': 'application/json' } }),
          });
          assert.equal(res.status, 403, res.text);
          assert.ok((res.body as { reasons: string[] }).reasons.includes(reason), res.text);
        };

        it('a DELETE on the whole collection is refused with a reason, even for an admin', async () => {
          await denied('DELETE', '/crm/customers', EXAMPLE_POLICY_REASONS.deleteCollection);
        });

        it('an export above the row limit is refused with a reason', async () => {
          await denied(
            'GET',
            '/crm/customers/export?limit=5000',
            EXAMPLE_POLICY_REASONS.exportTooLarge,
          );
          const ok = await stack.proxy('GET', '/crm/customers/export?limit=5', { token: reader });
          assert.equal(ok.status, 200, ok.text);
        });

        it('a request body carrying a card number is refused with a reason', async () => {
          await denied(
            'POST',
            '/crm/customers',
            EXAMPLE_POLICY_REASONS.cardInBody,
            JSON.stringify({ name: 'Eve', note: `pay with ${SAMPLE_CARD_NUMBERS[0]}` }),
          );
        });
      });

      describe('masked responses', () => {
        const customers = async (token: string, query = ''): Promise<HttpResult> => {
          const res = await stack.proxy('GET', `/crm/customers${query}`, { token });
          assert.equal(res.status, 200, res.text);
          return res;
        };

        it('card numbers, e-mails and SSNs are redacted for a caller without pii:read', async () => {
          const res = await customers(reader);
          assertNoneOf(res.text, [...SENSITIVE, ...SAMPLE_EMAILS], 'masked response');
          assert.match(res.text, /\[REDACTED/);
          assert.equal(res.headers.get('content-length'), String(Buffer.byteLength(res.text)));
        });

        it('the partial strategy keeps only the last four digits', async () => {
          const token = await stack.token('fn-guard-partial', {
            roles: ['crm-reader'],
            [EXAMPLE_MASK_STRATEGY_CLAIM]: 'partial',
          });
          const res = await customers(token);
          assertNoneOf(res.text, SENSITIVE, 'partially masked response');
          const last4 = digitsOnly(SAMPLE_CARD_NUMBERS[0]).slice(-4);
          assert.ok(res.text.includes(last4), `last four digits ${last4} are kept`);
          assert.match(res.text, /\*{4}/);
        });

        it('the hash strategy replaces values with stable keyed hashes, so joins still work', async () => {
          const token = await stack.token('fn-guard-hash', {
            roles: ['crm-reader'],
            [EXAMPLE_MASK_STRATEGY_CLAIM]: 'hash',
          });
          const a = await customers(token);
          const b = await customers(token);
          assertNoneOf(a.text, SENSITIVE, 'hashed response');
          assert.match(a.text, /\[HASH:/);
          assert.equal(a.text, b.text, 'the same values hash the same way');
        });

        it('a caller with pii:read sees the data unmasked: masking is the policy, not the proxy', async () => {
          const token = await stack.token('fn-guard-pii', {
            roles: ['crm-reader'],
            scope: `crm ${EXAMPLE_PII_READ_SCOPE}`,
          });
          const res = await customers(token);
          assert.ok(SAMPLE_CARD_NUMBERS.some((c) => res.text.includes(c)));
        });

        for (const encoding of ['gzip', 'deflate', 'br']) {
          it(`a ${encoding}-encoded upstream response is masked and sent decoded`, async () => {
            const res = await customers(reader, `?encoding=${encoding}`);
            assertNoneOf(res.text, [...SENSITIVE, ...SAMPLE_EMAILS], `${encoding} response`);
            assert.equal(res.headers.get('content-encoding'), null);
          });
        }

        it('a chunked upstream response is masked', async () => {
          const res = await stack.proxy('GET', '/crm/chunked?chunk=7', { token: reader });
          assert.equal(res.status, 200, res.text);
          assertNoneOf(res.text, [...SENSITIVE, ...SAMPLE_EMAILS], 'chunked response');
        });

        it('a 50 MB upstream response neither crashes the enforcer nor leaks unmasked', async () => {
          const res = await stack.proxy('GET', '/crm/large?mb=50', { token: reader });
          assert.equal(res.status, 502, res.text.slice(0, 300));
          assert.equal((res.body as { error: { code: string } }).error.code, 'masking_failed');
          assert.ok(res.text.length < 4096, 'only the error is sent');
          assert.ok(!/\d{4}[ -]?\d{4}[ -]?\d{4}/.test(res.text), 'no card-like number leaves');
          const health = await fetch(`${stack.enforcer.adminUrl}/healthz`);
          assert.equal(health.status, 200);
          await customers(reader);
        });
      });

      describe('recorded calls', () => {
        it('a write is recorded with identity, request line, status, sizes and masked bodies', async () => {
          const email = 'grace.hopper@example.com';
          const body = JSON.stringify({ name: 'Grace', email });
          // An allowed write: the example policy keeps the bodies of writes it lets through.
          const res = await stack.proxy('POST', '/crm/customers', {
            token: admin,
            body,
            headers: { 'content-type': 'application/json' },
          });
          assert.equal(res.status, 201, res.text);
          const id = res.headers.get('x-portcullis-decision-id');
          assert.ok(id);
          let call: Record<string, unknown> | undefined;
          await waitFor(
            async () => {
              const r = await stack.api('GET', `/v1/calls/${id}`);
              call = r.status === 200 ? (r.body as Record<string, unknown>) : undefined;
              return call !== undefined;
            },
            15_000,
            'the call record',
          );
          assert.ok(call);
          assert.equal(call.subject, 'fn-guard-admin');
          assert.equal(call.connection, 'crm');
          assert.equal(call.status, res.status);
          const request = call.request as { method: string; path: string };
          assert.equal(request.method, 'POST');
          assert.equal(request.path, '/customers');
          assert.equal(call.bytes_in, Buffer.byteLength(body));
          assert.equal(typeof call.duration_ms, 'number');
          assert.equal((call.bundle as { version: number }).version > 0, true);
          for (const part of ['request_body', 'response_body'] as const) {
            const recorded = call[part] as { data: string } | null;
            assert.ok(recorded, `the example policy records the ${part} of a write`);
            assert.match(recorded.data, /Grace/, `the ${part} is there`);
            assert.ok(!recorded.data.includes(email), `${part} masks the e-mail: ${recorded.data}`);
          }
          assert.equal((call.request_body as { bytes: number }).bytes, Buffer.byteLength(body));
        });
      });

      describe('after everything above', () => {
        it('no stored decision, call record, NATS store, database or log holds a raw card number or a connection secret', async () => {
          // A last call, and its record in the log, mark that every earlier event has landed.
          const last = await stack.proxy('GET', '/crm/customers', { token: reader });
          assert.equal(last.status, 200, last.text);
          await stack.waitForDecisions([last.headers.get('x-portcullis-decision-id') ?? '']);
          const needles = [
            ...SAMPLE_CARD_NUMBERS,
            ...SAMPLE_CARD_NUMBERS.map(digitsOnly),
            ...Object.values(secrets),
          ];
          const found = await stack.findInStores(needles);
          assert.deepEqual(found, []);
          const decisions = JSON.stringify(await stack.allDecisions());
          assertNoneOf(decisions, needles, 'GET /v1/decisions');
          const calls = JSON.stringify(await stack.allCalls());
          assertNoneOf(calls, needles, 'GET /v1/calls');
        });
      });
    },
  );
}
