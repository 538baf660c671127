import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { Stack, type StackDatabase } from './support/stack';
import { DELETE_DENIED_REASON, readerPolicy } from './support/policies';
import { assertDecisionFields, bundleOf } from './support/decisions';
import { postgresSkipReason } from './support/postgres';

// The main flow (upload → activate → allowed and denied calls → decision log) once per
// control-plane store, so the SQLite default and PostgreSQL both carry a full stack.
const variants: { database: StackDatabase; skip: string | false }[] = [
  { database: 'sqlite', skip: false },
  { database: 'postgres', skip: postgresSkipReason() },
];

for (const variant of variants) {
  describe(`the main flow on ${variant.database}`, { skip: variant.skip }, () => {
    let stack: Stack;
    before(async () => {
      stack = await Stack.start({ label: `store-${variant.database}`, database: variant.database });
    });
    after(async () => {
      await stack?.stop();
    });

    it('an activated bundle is enforced and every decision is stored once in the control plane', async () => {
      const upload = await stack.upload(readerPolicy(), { activate: true });
      assert.equal(upload.status, 201, upload.text);
      const { version, digest } = upload.body as { version: number; digest: string };
      await stack.waitForEnforcerVersion(stack.enforcer, version);

      const listed = await stack.api('GET', '/v1/bundles');
      assert.equal(listed.status, 200, listed.text);
      assert.ok(listed.text.includes('"default"'), listed.text);
      const bundle = await stack.api('GET', '/v1/bundles/default');
      assert.equal((bundle.body as { active_version: number }).active_version, version);

      const subject = `fn-store-${variant.database}`;
      const reader = await stack.token(subject, { roles: ['crm-reader'] });
      const allowed = await stack.proxy('GET', '/crm/customers/3', { token: reader });
      assert.equal(allowed.status, 200, allowed.text);
      assert.equal((allowed.body as { name: string }).name, 'Alan Turing');
      const denied = await stack.proxy('DELETE', '/crm/customers/3', { token: reader });
      assert.equal(denied.status, 403, denied.text);
      assert.deepEqual((denied.body as { reasons: string[] }).reasons, [DELETE_DENIED_REASON]);

      const ids = [allowed, denied].map((r) => r.headers.get('x-portcullis-decision-id')!);
      await stack.waitForDecisions(ids, { subject });
      const stored = await stack.allDecisions({ subject });
      assert.equal(stored.length, 2, 'exactly the two calls of this subject');
      // Newest first.
      assert.deepEqual(
        stored.map((d) => d.decision_id),
        [ids[1], ids[0]],
      );
      const expect = [
        { id: ids[0], outcome: 'allow' as const, status: 200 },
        { id: ids[1], outcome: 'deny' as const, status: 403 },
      ];
      for (const e of expect) {
        const r = stored.find((d) => d.decision_id === e.id)!;
        assertDecisionFields(r, {
          decisionId: e.id,
          enforcerId: stack.enforcer.id,
          outcome: e.outcome,
          status: e.status,
          evaluated: true,
          bundleVersion: version,
        });
        assert.equal(bundleOf(r).digest, digest);
      }
      const onlyDenied = await stack.allDecisions({ subject, outcome: 'deny' });
      assert.deepEqual(
        onlyDenied.map((d) => d.decision_id),
        [ids[1]],
      );
      const byVersion = await stack.allDecisions({ subject, bundle_version: version });
      assert.equal(byVersion.length, 2);
      const page = await stack.decisions({ subject, limit: 1 });
      assert.equal(page.items.length, 1);
      assert.equal(page.items[0].decision_id, ids[1]);
      assert.equal(typeof page.next_cursor, 'string', 'a partial page carries a cursor');
      const next = await stack.decisions({ subject, limit: 1, cursor: page.next_cursor as string });
      assert.equal(next.items[0]?.decision_id, ids[0]);

      // The variant really ran on the store it names.
      const sqliteFiles = readdirSync(stack.dataDir).filter((n) =>
        n.startsWith('control-plane.db'),
      );
      if (variant.database === 'postgres') {
        assert.deepEqual(sqliteFiles, [], 'no SQLite file was created');
        const tables = await stack.database!.query<{ n: string }>(
          "SELECT count(*)::text AS n FROM information_schema.tables WHERE table_schema = 'public'",
        );
        assert.ok(
          Number(tables[0].n) > 0,
          'the control plane created its tables in the scratch PostgreSQL database',
        );
      } else {
        assert.ok(sqliteFiles.includes('control-plane.db'), 'the SQLite file exists');
      }
    });
  });
}
