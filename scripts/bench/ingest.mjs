// Section 4, decision ingest: how many decisions per second the control plane moves from the
// decision stream into its store, on SQLite and on PostgreSQL. Several simulated enforcers (one
// NATS connection each, `portcullis.decisions.<id>`, Nats-Msg-Id = decision_id) publish M
// DecisionEvents as fast as JetStream acknowledges them, plus re-sends a retrying enforcer and a
// redelivery would cause; the store's row count is polled until it holds all M. Then every
// stored id is compared with what was sent: lost = sent but not stored, duplicated = stored
// more than once or never sent.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { round } from './stats.mjs';

const PUBLISHERS = 4;
const IN_FLIGHT = 256;

/** An event as an enforcer publishes it for an allowed GET (about 1.3 KB of JSON). */
function event(contracts, enforcerId, i) {
  const now = Date.now();
  const id = randomUUID();
  return {
    schema: contracts.DECISION_EVENT_SCHEMA,
    decision_id: id,
    timestamp: new Date(now).toISOString(),
    path: 'portcullis/decision',
    enforcer_id: enforcerId,
    bundle: { name: 'default', version: 3, digest: 'c'.repeat(64) },
    connection: 'crm',
    protocol: 'http',
    subject: `svc-${i % 17}`,
    input: {
      identity: {
        subject: `svc-${i % 17}`,
        issuer: 'http://127.0.0.1:8900',
        audience: ['portcullis-enforcer'],
        claims: { sub: `svc-${i % 17}`, roles: ['crm-reader'], team: 'billing', jti: id },
      },
      connection: { name: 'crm', type: 'http', labels: { env: 'bench' } },
      request: {
        method: 'GET',
        path: `/customers/${i % 1000}`,
        query: {},
        headers: { accept: ['application/json'], 'user-agent': ['billing-fn/1.4'] },
        body: null,
      },
      context: {
        time: new Date(now).toISOString(),
        time_ns: now * 1_000_000,
        enforcer_id: enforcerId,
        source_ip: '10.0.3.17',
        request_id: id,
      },
    },
    result: { allow: true, reasons: ['crm: reading customers is allowed for crm-reader'] },
    outcome: 'allow',
    reasons: ['crm: reading customers is allowed for crm-reader'],
    error: null,
    status: 200,
    request: { method: 'GET', path: `/customers/${i % 1000}`, query: null },
    metrics: { timer_eval_ns: 31_000, timer_total_ns: 410_000 },
  };
}

/** Publishes `events` with at most IN_FLIGHT unacknowledged; resolves when all are acknowledged. */
async function publishAll(js, subject, events, resend) {
  let next = 0;
  const one = async () => {
    while (next < events.length) {
      const e = events[next++];
      const data = Buffer.from(JSON.stringify(e));
      await js.publish(subject, data, { msgID: e.decision_id, timeout: 30_000 });
      // A retrying enforcer re-sends with the same msg id (the stream's duplicate window drops
      // it); a redelivery reaches the consumer again (the primary key turns it into a no-op).
      if (resend.sameId.has(e.decision_id))
        await js.publish(subject, data, { msgID: e.decision_id, timeout: 30_000 });
      if (resend.newId.has(e.decision_id))
        await js.publish(subject, data, { msgID: `${e.decision_id}-again`, timeout: 30_000 });
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, one));
}

/** Row counting and id listing for the control plane's store. */
function storeReader(dist, stack, kind) {
  if (kind === 'sqlite') {
    const db = new dist.BetterSqlite(join(stack.dataDir, 'control-plane.db'), {
      readonly: true,
      fileMustExist: true,
      timeout: 10_000,
    });
    return {
      count: async () => Number(db.prepare('SELECT count(*) AS n FROM decisions').get().n),
      ids: async () => db.prepare('SELECT decision_id FROM decisions').pluck().all(),
      close: async () => db.close(),
    };
  }
  return {
    count: async () =>
      Number((await stack.database.query('SELECT count(*)::int AS n FROM decisions'))[0].n),
    ids: async () =>
      (await stack.database.query('SELECT decision_id FROM decisions')).map((r) => r.decision_id),
    close: async () => undefined,
  };
}

async function ingestOnce({ dist, kind, total, log }) {
  const { Stack, natsTransport, jetstream, contracts } = dist;
  const stack = await Stack.start({
    label: `bench-ingest-${kind}`,
    database: kind,
    enforcer: false,
  });
  const connections = [];
  let reader = null;
  try {
    reader = storeReader(dist, stack, kind);
    const perPublisher = Math.ceil(total / PUBLISHERS);
    const plan = Array.from({ length: PUBLISHERS }, (_, p) => {
      const enforcerId = `bench-ingest-${p + 1}`;
      const n = Math.min(perPublisher, total - p * perPublisher);
      return {
        enforcerId,
        events: Array.from({ length: n }, (_, i) => event(contracts, enforcerId, i)),
      };
    });
    const sent = new Set(plan.flatMap((p) => p.events.map((e) => e.decision_id)));
    const ids = [...sent];
    const resend = {
      sameId: new Set(ids.filter((_, i) => i % 100 === 7)),
      newId: new Set(ids.filter((_, i) => i % 100 === 51)),
    };
    for (let p = 0; p < PUBLISHERS; p++)
      connections.push(
        await natsTransport.connect({ servers: stack.nats.url, name: `bench-ingest-${p}` }),
      );

    log(`ingest (${kind}): ${total} events from ${PUBLISHERS} publishers ...`);
    const t0 = performance.now();
    let publishedAt = null;
    const publishing = Promise.all(
      plan.map((p, i) =>
        publishAll(
          jetstream.jetstream(connections[i]),
          contracts.decisionSubject(p.enforcerId),
          p.events,
          resend,
        ),
      ),
    ).then(() => (publishedAt = performance.now()));
    publishing.catch(() => undefined);
    const samples = [];
    let stored = 0;
    let lastProgress = performance.now();
    for (;;) {
      await new Promise((r) => setTimeout(r, 100));
      const n = await reader.count();
      const now = performance.now();
      if (n !== stored) lastProgress = now;
      stored = n;
      samples.push({ ms: now - t0, n });
      if (publishedAt !== null && n >= total) break;
      if (now - lastProgress > 15_000) break;
    }
    await publishing;
    const doneMs = samples.at(-1).ms;
    // Give a straggler (a duplicate that would land late) a moment to show up before counting.
    await new Promise((r) => setTimeout(r, 1000));
    const rows = await reader.ids();
    const seen = new Set();
    let duplicated = 0;
    for (const id of rows) {
      if (seen.has(id) || !sent.has(id)) duplicated++;
      seen.add(id);
    }
    const lost = [...sent].filter((id) => !seen.has(id)).length;
    // Sustained rate: between 10 % and 90 % stored, past start-up and the tail.
    const at = (frac) => samples.find((s) => s.n >= frac * total)?.ms ?? NaN;
    const sustained = (0.8 * total) / ((at(0.9) - at(0.1)) / 1000);
    return {
      events: total,
      resent: resend.sameId.size + resend.newId.size,
      per_s: round(total / (doneMs / 1000), 0),
      sustained_per_s: round(sustained, 0),
      publish_per_s: round(total / ((publishedAt - t0) / 1000), 0),
      seconds: round(doneMs / 1000, 2),
      lost,
      duplicated,
    };
  } finally {
    await reader?.close();
    for (const nc of connections) await nc.close().catch(() => undefined);
    await stack.stop();
  }
}

export async function benchIngest({ dist, sizes, postgres, log }) {
  const sqlite = await ingestOnce({ dist, kind: 'sqlite', total: sizes.events, log });
  let pg = null;
  if (postgres.url) {
    process.env.PORTCULLIS_TEST_POSTGRES_URL = postgres.url;
    pg = await ingestOnce({ dist, kind: 'postgres', total: sizes.events, log });
  } else {
    log(`ingest: PostgreSQL skipped (${postgres.why})`);
  }
  return {
    sqlite_per_s: sqlite.per_s,
    postgres_per_s: pg ? pg.per_s : null,
    lost: sqlite.lost + (pg?.lost ?? 0),
    duplicated: sqlite.duplicated + (pg?.duplicated ?? 0),
    postgres_skipped: pg ? null : postgres.why,
    sqlite,
    postgres: pg,
  };
}
