import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Stack, type HttpResult } from './support/stack';
import { readerPolicy } from './support/policies';
import { postgresSkipReason } from './support/postgres';

// Decision delivery end to end: enforcer → JetStream → control plane → GET /v1/decisions, while
// the parts in between restart under load. Each call's `x-portcullis-decision-id` must come back
// from the decision log exactly once with the outcome and status the caller saw, and the log
// must hold nothing else (every record in it was produced by a call of this file).

interface Sent {
  outcome: 'allow' | 'deny';
  status: number;
}

type Kind = 'allow' | 'deny' | 'unauthenticated';

const CONCURRENCY = 8;
/** While a restart step runs, calls are paced so that they span the whole step. */
const PACE_MS = 15;

/** Sends a mix of allowed (200), denied (403) and unauthenticated (401) calls through the enforcer. */
class Burst {
  readonly sent = new Map<string, Sent>();
  private n = 0;

  constructor(
    private readonly stack: Stack,
    private readonly reader: string,
  ) {}

  /** `count` calls, `CONCURRENCY` at a time. */
  async send(count: number): Promise<void> {
    let left = count;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (left > 0) {
          left--;
          await this.one();
        }
      }),
    );
  }

  /** Keeps calling (paced) until `step` settles; returns how many calls overlapped it. */
  async during(step: Promise<void>): Promise<number> {
    let done = false;
    const settled = step.finally(() => {
      done = true;
    });
    const before = this.sent.size;
    const workers = Array.from({ length: 2 }, async () => {
      do {
        await this.one();
        await new Promise((r) => setTimeout(r, PACE_MS));
      } while (!done);
    });
    await Promise.all([settled, ...workers]);
    return this.sent.size - before;
  }

  private async one(): Promise<void> {
    const i = this.n++;
    const kind: Kind = (['allow', 'deny', 'unauthenticated'] as const)[i % 3];
    let res: HttpResult;
    switch (kind) {
      case 'allow':
        res = await this.stack.proxy('GET', `/crm/customers/${(i % 10) + 1}`, {
          token: this.reader,
        });
        break;
      case 'deny':
        res = await this.stack.proxy('DELETE', `/crm/customers/${(i % 10) + 1}`, {
          token: this.reader,
        });
        break;
      case 'unauthenticated':
        // Alternate between no token and a malformed one: both are recorded 401 decisions.
        res = await this.stack.proxy('GET', '/crm/customers', {
          ...(i % 2 === 0 ? {} : { token: 'not-a-jwt' }),
        });
        break;
    }
    const expected = { allow: 200, deny: 403, unauthenticated: 401 }[kind];
    assert.equal(res.status, expected, `call ${i} (${kind}): ${res.text}`);
    const id = res.headers.get('x-portcullis-decision-id');
    assert.ok(id, `call ${i} (${kind}) carries x-portcullis-decision-id`);
    assert.ok(!this.sent.has(id), `decision id ${id} was returned to two calls`);
    this.sent.set(id, { outcome: kind === 'allow' ? 'allow' : 'deny', status: res.status });
  }
}

/**
 * Waits until every produced id is in the log, then walks every page once more and asserts the
 * log is exactly the produced set: no id missing, none twice, none unknown, outcome and status
 * as the caller saw them.
 */
async function assertLogIsExactly(
  stack: Stack,
  produced: Map<string, Sent>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let missing: string[] = [];
  for (;;) {
    const items = await stack.allDecisions();
    const seen = new Set(items.map((r) => r.decision_id));
    missing = [...produced.keys()].filter((id) => !seen.has(id));
    if (missing.length === 0) break;
    if (Date.now() > deadline)
      assert.fail(
        `${missing.length} of ${produced.size} decisions never reached GET /v1/decisions ` +
          `(first: ${missing.slice(0, 3).join(', ')})\n` +
          `--- control plane ---\n${stack.controlPlane.output().slice(-15).join('\n')}\n` +
          `--- enforcer ---\n${stack.enforcer.app.output().slice(-15).join('\n')}`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }

  const items = await stack.allDecisions();
  const counts = new Map<string, number>();
  for (const r of items) {
    const id = String(r.decision_id);
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  const twice = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
  assert.deepEqual(twice, [], 'no decision appears twice in the log');
  const unknown = [...counts.keys()].filter((id) => !produced.has(id));
  assert.deepEqual(unknown, [], 'every record in the log was produced by a call');
  assert.equal(items.length, produced.size, 'the log holds exactly the calls made');
  for (const r of items) {
    const want = produced.get(String(r.decision_id))!;
    assert.equal(r.outcome, want.outcome, `outcome of ${String(r.decision_id)}`);
    assert.equal(r.status, want.status, `status of ${String(r.decision_id)}`);
  }
}

const variants: { database: 'sqlite' | 'postgres'; skip: string | false }[] = [
  { database: 'sqlite', skip: false },
  { database: 'postgres', skip: postgresSkipReason() },
];

for (const variant of variants) {
  describe(
    `decision delivery under restarts on ${variant.database}`,
    { skip: variant.skip },
    () => {
      let stack: Stack;
      let reader: string;
      // Every call this file makes, across tests: after each test the log must equal it.
      const produced = new Map<string, Sent>();

      before(async () => {
        stack = await Stack.start({
          label: `delivery-${variant.database}`,
          database: variant.database,
        });
        const version = await stack.publish(readerPolicy());
        await stack.waitForEnforcerVersion(stack.enforcer, version);
        reader = await stack.token('fn-burst', { roles: ['crm-reader'] }, { ttl: 600 });
      });
      after(async () => {
        await stack?.stop();
      });

      /**
       * ~500 calls: 150, then calls paced across `stop`, 150 while stopped, calls paced across
       * `start`, then the rest; then the log must equal every call made so far.
       */
      async function burstAcross(
        t: TestContext,
        stop: () => Promise<void>,
        start: () => Promise<void>,
        settleMs: number,
      ): Promise<void> {
        const burst = new Burst(stack, reader);
        await burst.send(150);
        const whileStopping = await burst.during(stop());
        await burst.send(150);
        const whileStarting = await burst.during(start());
        await burst.send(Math.max(50, 500 - burst.sent.size));
        assert.ok(whileStopping > 0 && whileStarting > 0, 'calls overlapped both restart steps');
        for (const [id, s] of burst.sent) produced.set(id, s);
        const started = Date.now();
        await assertLogIsExactly(stack, produced, settleMs);
        t.diagnostic(
          `${burst.sent.size} calls (${whileStopping} while stopping, ${whileStarting} while starting); ` +
            `log complete ${Date.now() - started} ms after the burst`,
        );
      }

      const restarts: {
        what: string;
        stop: () => Promise<void>;
        start: () => Promise<void>;
        settleMs: number;
      }[] = [
        {
          what: 'the control plane restarts',
          stop: () => stack.haltControlPlane(),
          start: () => stack.resumeControlPlane(),
          settleMs: 45_000,
        },
        {
          // SIGKILL while it ingests: events it held unacknowledged come back after ack_wait
          // (10 s), some possibly already committed, and must still be stored once.
          what: 'the control plane is killed',
          stop: () => stack.crashControlPlane(),
          start: () => stack.resumeControlPlane(),
          settleMs: 45_000,
        },
        {
          // While NATS is down the enforcer keeps deciding and queues the events it cannot publish.
          what: 'nats-server restarts',
          stop: () => stack.haltNats(),
          start: () => stack.resumeNats(),
          settleMs: 30_000,
        },
      ];
      for (const r of restarts) {
        it(
          `a burst of calls is stored exactly once when ${r.what} in the middle`,
          { timeout: 60_000 },
          (t) => burstAcross(t, r.stop, r.start, r.settleMs),
        );
      }
    },
  );
}
