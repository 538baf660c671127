import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { REDACTED, type DecisionEvent } from '@portcullis/contracts';
import { DecisionCursorCodec } from './decision-cursor.codec';
import { makeDecisionEvent } from './decision-event.fixture';
import { DecisionQueryParser } from './decision-query.parser';
import { DecisionNotFoundError, DecisionQueryError } from './decision.errors';
import type { DecisionDto } from './decision.dto';
import { DecisionEntity } from './decision.entity';
import { DecisionRepository } from './decision.repository';
import { DecisionService } from './decision.service';
import {
  openPostgresTestDatabase,
  openSqliteTestDatabase,
  POSTGRES_SKIP,
  POSTGRES_URL,
  type DecisionTestDatabase,
} from './decision-test.datasource';

const BASE_US = Date.UTC(2025, 0, 1) * 1000;

/** RFC 3339 with microseconds, as a precise enforcer clock would stamp it. */
function iso(us: number): string {
  const ms = Math.floor(us / 1000);
  return `${new Date(ms).toISOString().slice(0, -1)}${String(us - ms * 1000).padStart(3, '0')}Z`;
}

/** Walks every page of a query and returns the decision ids in the order the API gave them. */
async function walk(
  service: DecisionService,
  raw: Record<string, string>,
  between?: (page: number) => Promise<void>,
): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 1000; page++) {
    const q = DecisionQueryParser.parse(cursor ? { ...raw, cursor } : raw);
    const result = await service.list(q);
    ids.push(...result.items.map((i) => i.decision_id));
    cursor = result.next_cursor;
    if (cursor === null) return ids;
    if (between) await between(page);
  }
  throw new Error('pagination did not end');
}

function sortedNewestFirst(events: DecisionEvent[]): string[] {
  const key = (e: DecisionEvent) =>
    BigInt(Date.parse(e.timestamp)) * 1000n +
    BigInt(Number(/\.\d{3}(\d{3})/.exec(e.timestamp)?.[1] ?? 0));
  return [...events]
    .sort((a, b) => {
      const ka = key(a);
      const kb = key(b);
      if (ka !== kb) return ka > kb ? -1 : 1;
      return a.decision_id > b.decision_id ? -1 : a.decision_id < b.decision_id ? 1 : 0;
    })
    .map((e) => e.decision_id);
}

function decisionRepositoryContract(open: () => Promise<DecisionTestDatabase>): void {
  let db: DecisionTestDatabase;
  let service: DecisionService;

  void before(async () => {
    db = await open();
    service = new DecisionService(new DecisionRepository(db.dataSource));
  });
  void after(async () => {
    await db?.close();
  });

  void it('the same decision stored twice, in one batch or in two, is one row', async () => {
    const e = makeDecisionEvent({ subject: 'idempotency' });
    assert.deepEqual(await service.record([e, e]), { inserted: 1, duplicates: 1 });
    assert.deepEqual(await service.record([e]), { inserted: 0, duplicates: 1 });
    const other = makeDecisionEvent({ subject: 'idempotency' });
    assert.deepEqual(await service.record([e, other]), { inserted: 1, duplicates: 1 });
    const page = await service.list(DecisionQueryParser.parse({ subject: 'idempotency' }));
    assert.deepEqual(
      page.items.map((i) => i.decision_id).sort(),
      [e.decision_id, other.decision_id].sort(),
    );
  });

  void it('a stored decision reads back field for field, and nothing of the storage leaks into the DTO', async () => {
    const e = makeDecisionEvent({
      subject: 'roundtrip',
      outcome: 'error',
      error: { code: 'evaluation_failed', message: 'eval_conflict_error' },
      status: 500,
      result: null,
      bundle: { name: 'payments', version: 12, digest: 'b'.repeat(64) },
      metrics: { timer_eval_ns: null, timer_total_ns: 42 },
    });
    await service.record([e]);
    const dto = await service.get(e.decision_id);
    const { stored_at, ...rest } = dto;
    assert.ok(!Number.isNaN(Date.parse(stored_at)));
    const expected: Partial<DecisionEvent> = { ...e };
    delete expected.schema;
    assert.deepEqual(rest, expected);
    assert.deepEqual(Object.keys(dto).sort(), [...Object.keys(expected), 'stored_at'].sort());
  });

  void it('credentials an enforcer let through are never stored, at any depth', async () => {
    const e = makeDecisionEvent({
      subject: 'scrubbed',
      input: {
        request: {
          method: 'GET',
          headers: {
            Authorization: 'Bearer eyJ.secret',
            cookie: 'sid=secret',
            accept: 'application/json',
          },
          query: { access_token: 'secret-q', page: '2' },
        },
        nested: [{ headers: { 'proxy-authorization': 'Basic secret', 'x-trace': '1' } }],
      },
    });
    const original = structuredClone(e);
    await service.record([e]);
    // The caller's event is not mutated; the stored row is what must be clean.
    assert.deepEqual(e, original);
    const row = await db.dataSource.getRepository(DecisionEntity).findOneBy({
      decisionId: e.decision_id,
    });
    assert.ok(row);
    assert.ok(!row.event.includes('secret'), `stored event leaks a credential: ${row.event}`);
    const dto = await service.get(e.decision_id);
    assert.deepEqual(dto.input, {
      request: {
        method: 'GET',
        headers: { accept: 'application/json' },
        query: { access_token: REDACTED, page: '2' },
      },
      nested: [{ headers: { 'x-trace': '1' } }],
    });
    // Everything but the input is stored as the enforcer sent it.
    const sent: Partial<DecisionEvent> = { ...e, input: null };
    delete sent.schema;
    assert.deepEqual(
      { ...dto, stored_at: undefined, input: null },
      { ...sent, stored_at: undefined },
    );
  });

  void it('an unknown decision id is not found, and a malformed one is a bad request', async () => {
    await assert.rejects(
      service.get('00000000-0000-0000-0000-000000000000'),
      DecisionNotFoundError,
    );
    await assert.rejects(service.get("' OR 1=1 --"), DecisionQueryError);
  });

  void it('pagination visits every decision exactly once, newest first, ties broken by decision id', async () => {
    const events: DecisionEvent[] = [];
    // Groups of three share one microsecond, so the tie-breaker matters at page boundaries.
    for (let i = 0; i < 61; i++)
      events.push(
        makeDecisionEvent({ subject: 'walker', timestamp: iso(BASE_US + Math.floor(i / 3)) }),
      );
    // Stored in shuffled batches: insertion order must not matter.
    const shuffled = [...events].sort(() => Math.random() - 0.5);
    await service.record(shuffled.slice(0, 30));
    await service.record(shuffled.slice(30));
    const expected = sortedNewestFirst(events);
    for (const limit of ['1', '7', '61', '500']) {
      assert.deepEqual(
        await walk(service, { subject: 'walker', limit }),
        expected,
        `limit ${limit}`,
      );
    }
    const first = await service.list(DecisionQueryParser.parse({ subject: 'walker' }));
    assert.equal(first.items.length, 50, 'default page size');
  });

  void it('a cursor stays valid while decisions are inserted: no item is repeated or skipped', async () => {
    const events: DecisionEvent[] = [];
    for (let i = 0; i < 40; i++)
      events.push(makeDecisionEvent({ subject: 'concurrent', timestamp: iso(BASE_US + i * 10) }));
    await service.record(events);
    const newer: string[] = [];
    const seen = await walk(service, { subject: 'concurrent', limit: '6' }, async (page) => {
      // Between pages, enforcers keep reporting: new decisions are newer than the cursor.
      const fresh = [0, 1, 2].map((k) =>
        makeDecisionEvent({
          subject: 'concurrent',
          timestamp: iso(BASE_US + 1_000_000 + page * 10 + k),
        }),
      );
      newer.push(...fresh.map((e) => e.decision_id));
      await service.record(fresh);
    });
    assert.deepEqual(seen, sortedNewestFirst(events));
    assert.ok(newer.length > 0 && newer.every((id) => !seen.includes(id)));
  });

  void describe('filters', () => {
    const t = (s: number) => iso(BASE_US + 3_600_000_000 + s * 1_000_000);
    const fixtures = {
      a: makeDecisionEvent({
        subject: 'f-alice',
        connection: 'crm',
        outcome: 'allow',
        timestamp: t(0),
      }),
      b: makeDecisionEvent({
        subject: 'f-alice',
        connection: 'billing',
        outcome: 'deny',
        status: 403,
        timestamp: t(1),
      }),
      c: makeDecisionEvent({
        subject: 'f-bob',
        connection: 'crm',
        outcome: 'deny',
        status: 403,
        timestamp: t(2),
        bundle: { name: 'default', version: 2, digest: 'c'.repeat(64) },
      }),
      d: makeDecisionEvent({
        subject: null,
        connection: 'crm',
        outcome: 'error',
        status: 401,
        input: null,
        result: null,
        error: { code: 'unauthenticated', message: 'token expired' },
        timestamp: t(3),
        enforcer_id: 'edge-2',
        bundle: { name: 'other', version: 2, digest: 'd'.repeat(64) },
      }),
    };
    const window = { from: t(0), to: t(4) };
    const ids = async (raw: Record<string, string>) =>
      (await service.list(DecisionQueryParser.parse({ ...window, ...raw }))).items.map(
        (i: DecisionDto) => i.decision_id,
      );

    void before(async () => {
      await service.record(Object.values(fixtures));
    });

    void it('subject matches exactly', async () => {
      assert.deepEqual(await ids({ subject: 'f-alice' }), [
        fixtures.b.decision_id,
        fixtures.a.decision_id,
      ]);
      assert.deepEqual(await ids({ subject: 'f-ali' }), []);
    });
    void it('connection matches exactly', async () => {
      assert.deepEqual(await ids({ connection: 'billing' }), [fixtures.b.decision_id]);
    });
    void it('outcome selects one of allow, deny, error', async () => {
      assert.deepEqual(await ids({ outcome: 'deny' }), [
        fixtures.c.decision_id,
        fixtures.b.decision_id,
      ]);
      assert.deepEqual(await ids({ outcome: 'error' }), [fixtures.d.decision_id]);
    });
    void it('bundle_version selects the version that decided, optionally within one bundle', async () => {
      assert.deepEqual(await ids({ bundle_version: '2' }), [
        fixtures.d.decision_id,
        fixtures.c.decision_id,
      ]);
      assert.deepEqual(await ids({ bundle_version: '2', bundle: 'default' }), [
        fixtures.c.decision_id,
      ]);
    });
    void it('enforcer_id selects one enforcer', async () => {
      assert.deepEqual(await ids({ enforcer_id: 'edge-2' }), [fixtures.d.decision_id]);
    });
    void it('from is inclusive and to is exclusive', async () => {
      assert.deepEqual(await ids({ from: t(1), to: t(3) }), [
        fixtures.c.decision_id,
        fixtures.b.decision_id,
      ]);
      assert.deepEqual(await ids({ from: t(3) }), [fixtures.d.decision_id]);
    });
    void it('filters combine with AND', async () => {
      assert.deepEqual(await ids({ connection: 'crm', outcome: 'deny', subject: 'f-bob' }), [
        fixtures.c.decision_id,
      ]);
      assert.deepEqual(await ids({ connection: 'billing', outcome: 'allow' }), []);
    });
    void it('pagination within a filter never leaves the filter', async () => {
      const page1 = await service.list(
        DecisionQueryParser.parse({ ...window, connection: 'crm', limit: '1' }),
      );
      assert.deepEqual(
        page1.items.map((i) => i.decision_id),
        [fixtures.d.decision_id],
      );
      assert.ok(page1.next_cursor);
      assert.doesNotThrow(() => DecisionCursorCodec.decode(page1.next_cursor!));
      const rest = await service.list(
        DecisionQueryParser.parse({ ...window, connection: 'crm', cursor: page1.next_cursor }),
      );
      assert.deepEqual(
        rest.items.map((i) => i.decision_id),
        [fixtures.c.decision_id, fixtures.a.decision_id],
      );
      assert.equal(rest.next_cursor, null);
    });
  });
}

void describe('decision store on SQLite', () => {
  decisionRepositoryContract(openSqliteTestDatabase);
});

void describe('decision store on PostgreSQL', { skip: POSTGRES_SKIP }, () => {
  decisionRepositoryContract(() => openPostgresTestDatabase(POSTGRES_URL ?? ''));
});
