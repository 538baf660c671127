import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { REDACTED, type CallRecord, type DecisionEvent } from '@portcullis/contracts';
import { CallRecordEntity } from './call-record.entity';
import { decisionCursorCodec } from './decision-cursor.codec';
import { makeDecisionEvent } from './decision-event.fixture';
import { DecisionQueryParser } from './decision-query.parser';
import { DecisionNotFoundError, DecisionQueryError } from './decision.errors';
import type { DecisionDto } from './decision.dto';
import { DecisionEntity } from './decision.entity';
import { DecisionRepository, PAGE_BODY_BUDGET_CHARS } from './decision.repository';
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
    // Fields the event did not carry (older enforcers) read back as null.
    const expected: Record<string, unknown> = {
      ...e,
      request: { ...e.request, query: null },
      call: null,
      log_mask: null,
      approval: null,
    };
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
    const sent: Record<string, unknown> = {
      ...e,
      input: null,
      request: { ...e.request, query: null },
      call: null,
      log_mask: null,
      approval: null,
    };
    delete sent.schema;
    assert.deepEqual(
      { ...dto, stored_at: undefined, input: null },
      { ...sent, stored_at: undefined },
    );
  });

  void describe('call records', () => {
    const callRecord = (over: Partial<CallRecord> = {}): CallRecord => ({
      bytes_in: 17,
      bytes_out: 2048,
      upstream_status: 201,
      masked: { fields: 2, detectors: { email: 3 } },
      request_body: { encoding: 'utf8', data: '{"name":"Ada"}', bytes: 17, truncated: false },
      response_body: { encoding: 'base64', data: 'AAEC', bytes: 2048, truncated: true },
      ...over,
    });
    const callRows = (decisionId: string) =>
      db.dataSource.getRepository(CallRecordEntity).countBy({ decisionId });

    void it('a call record, query and log-mask report read back field for field, as a decision and as a call', async () => {
      const call = callRecord();
      const e = makeDecisionEvent({
        subject: 'call-roundtrip',
        request: { method: 'POST', path: '/customers', query: 'fields=name&page=2' },
        metrics: { timer_eval_ns: 1000, timer_total_ns: 12_345_678 },
        call,
        log_mask: {
          erased: ['/input/request/headers/authorization'],
          masked: ['/call/request_body'],
        },
      });
      await service.record([e]);
      const decision = await service.get(e.decision_id);
      assert.deepEqual(decision.call, call);
      assert.deepEqual(decision.log_mask, e.log_mask);
      assert.deepEqual(decision.request, e.request);
      const one = await service.getCall(e.decision_id);
      assert.deepEqual(
        { ...one },
        {
          decision_id: e.decision_id,
          timestamp: e.timestamp,
          subject: 'call-roundtrip',
          connection: e.connection,
          enforcer_id: e.enforcer_id,
          protocol: 'http',
          request: { method: 'POST', path: '/customers', query: 'fields=name&page=2' },
          outcome: 'allow',
          error_code: null,
          status: 200,
          upstream_status: 201,
          duration_ms: 12.346,
          bytes_in: 17,
          bytes_out: 2048,
          bundle: e.bundle,
          masked: call.masked,
          log_mask: e.log_mask,
          approval: null,
          request_body: call.request_body,
          response_body: call.response_body,
          recorded: true,
        },
      );
      const listed = await service.listCalls(
        DecisionQueryParser.parse({ subject: 'call-roundtrip' }),
      );
      assert.deepEqual(
        listed.items.map((i) => ({ ...i })),
        [{ ...one }],
      );
    });

    void it('the bodies are stored once, in call_records, never inside the decision row', async () => {
      const e = makeDecisionEvent({
        subject: 'call-bodies',
        call: callRecord({
          response_body: {
            encoding: 'utf8',
            data: 'unique-body-marker',
            bytes: 18,
            truncated: false,
          },
        }),
      });
      await service.record([e]);
      const row = await db.dataSource
        .getRepository(DecisionEntity)
        .findOneBy({ decisionId: e.decision_id });
      assert.ok(row);
      assert.ok(!row.event.includes('unique-body-marker'));
      assert.equal(await callRows(e.decision_id), 1);
    });

    void it('an event with a call record delivered again, alone or in a batch, is one decision and one call record', async () => {
      const e = makeDecisionEvent({ subject: 'call-once', call: callRecord() });
      assert.deepEqual(await service.record([e, e]), { inserted: 1, duplicates: 1 });
      assert.deepEqual(await service.record([e, makeDecisionEvent({ subject: 'call-once' })]), {
        inserted: 1,
        duplicates: 1,
      });
      // A redelivery whose call differs (it cannot, but a buggy enforcer might) changes nothing.
      await service.record([{ ...e, call: callRecord({ bytes_out: 1 }) }]);
      assert.equal(await callRows(e.decision_id), 1);
      assert.equal((await service.getCall(e.decision_id)).bytes_out, 2048);
      const page = await service.listCalls(DecisionQueryParser.parse({ subject: 'call-once' }));
      assert.equal(page.items.length, 2);
    });

    void it('an event without a call record still stores and lists, with the call fields null', async () => {
      const e = makeDecisionEvent({ subject: 'call-legacy' });
      assert.equal(e.call, undefined);
      await service.record([e]);
      assert.equal(await callRows(e.decision_id), 0);
      const decisions = await service.list(DecisionQueryParser.parse({ subject: 'call-legacy' }));
      assert.deepEqual(
        decisions.items.map((i) => [i.decision_id, i.call, i.log_mask]),
        [[e.decision_id, null, null]],
      );
      const calls = await service.listCalls(DecisionQueryParser.parse({ subject: 'call-legacy' }));
      assert.equal(calls.items.length, 1);
      const [c] = calls.items;
      assert.equal(c.recorded, false);
      assert.deepEqual(
        [c.bytes_in, c.bytes_out, c.upstream_status, c.masked, c.request_body, c.response_body],
        [null, null, null, null, null, null],
      );
      assert.deepEqual(c.request, { ...e.request, query: null });
    });

    void it('pruning a decision prunes its call record (the documented retention statement)', async () => {
      const e = makeDecisionEvent({ subject: 'call-pruned', call: callRecord() });
      await service.record([e]);
      await db.dataSource
        .createQueryBuilder()
        .delete()
        .from(DecisionEntity)
        .where('decision_id = :id', { id: e.decision_id })
        .execute();
      assert.equal(await callRows(e.decision_id), 0);
    });

    void it('credential parameters in the canonical query string are redacted before storage', async () => {
      const e = makeDecisionEvent({
        subject: 'call-query',
        request: {
          method: 'GET',
          path: '/customers',
          query: 'page=2&ACCESS_TOKEN=qsecret&api%5Fkey=qsecret2&password&q=ok',
        },
      });
      await service.record([e]);
      const row = await db.dataSource
        .getRepository(DecisionEntity)
        .findOneBy({ decisionId: e.decision_id });
      assert.ok(row && !row.event.includes('qsecret'), 'stored event leaks a query credential');
      assert.equal(
        (await service.getCall(e.decision_id)).request.query,
        `page=2&ACCESS_TOKEN=${REDACTED}&api%5Fkey=${REDACTED}&password=${REDACTED}&q=ok`,
      );
    });

    void it('a page of calls ends early rather than load more bodies than the budget, and the next page continues', async () => {
      const big = 'x'.repeat(Math.floor(PAGE_BODY_BUDGET_CHARS * 0.4));
      const events = [0, 1, 2].map((i) =>
        makeDecisionEvent({
          subject: 'call-budget',
          timestamp: iso(BASE_US + i),
          call: callRecord({
            response_body: { encoding: 'utf8', data: big, bytes: big.length, truncated: false },
          }),
        }),
      );
      await service.record(events);
      const first = await service.listCalls(
        DecisionQueryParser.parse({ subject: 'call-budget', limit: '10' }),
      );
      assert.deepEqual(
        first.items.map((i) => i.decision_id),
        [events[2].decision_id, events[1].decision_id],
      );
      assert.equal(first.items[1].response_body?.data.length, big.length);
      assert.ok(first.next_cursor);
      const second = await service.listCalls(
        DecisionQueryParser.parse({
          subject: 'call-budget',
          limit: '10',
          cursor: first.next_cursor,
        }),
      );
      assert.deepEqual(
        second.items.map((i) => i.decision_id),
        [events[0].decision_id],
      );
      assert.equal(second.next_cursor, null);
    });
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
      assert.doesNotThrow(() => decisionCursorCodec.decode(page1.next_cursor!));
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
