import { after, before, describe } from 'node:test';
import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { DataSource } from 'typeorm';
import {
  decisionSubject,
  ensureJetStreamTopology,
  type DecisionEvent,
} from '@portcullis/contracts';
import { NatsServerProcess } from '@portcullis/testing';
import { ControlPlaneHarness } from '../testing/control-plane.harness';
import { POSTGRES_SKIP, POSTGRES_URL } from './decision-test.datasource';

/**
 * What a decision-log API spec drives, valid once the suite's `before` hooks ran: a running
 * control plane, an auditor's token, and publishing an event as an enforcer would.
 */
export interface DecisionApiStack {
  readonly h: ControlPlaneHarness;
  readonly auditor: string;
  /** Publishes `e` to the decision stream; `msgID` (default its decision_id) is the dedup id. */
  readonly publish: (e: DecisionEvent, msgID?: string) => Promise<void>;
}

/**
 * Registers, in the current suite, the hooks that start nats-server, a control plane on the
 * database `databaseUrl` names (undefined: its own SQLite file) and an enforcer-side JetStream
 * client, and that close all of them after the suite.
 */
export function decisionApiStack(databaseUrl: () => Promise<string | undefined>): DecisionApiStack {
  let nats: NatsServerProcess | undefined;
  let h: ControlPlaneHarness | undefined;
  let auditor: string | undefined;
  let enforcerSide: NatsConnection | undefined;
  let js: JetStreamClient | undefined;

  before(async () => {
    nats = await NatsServerProcess.start();
    const url = await databaseUrl();
    h = await ControlPlaneHarness.start(url ? { nats, databaseUrl: url } : { nats });
    auditor = await h.token('carol@example.com', ['auditor']);
    enforcerSide = await connect({ servers: nats.url });
    await ensureJetStreamTopology(enforcerSide);
    js = jetstream(enforcerSide);
  });

  after(async () => {
    await enforcerSide?.close();
    await h?.stop();
    await nats?.stop();
  });

  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the decision API stack is used before it started');
    return value;
  };
  return {
    get h() {
      return started(h);
    },
    get auditor() {
      return started(auditor);
    },
    publish: async (e, msgID = e.decision_id) => {
      await started(js).publish(decisionSubject(e.enforcer_id), JSON.stringify(e), { msgID });
    },
  };
}

/**
 * Runs `contract` twice: on SQLite, and on a fresh PostgreSQL schema (skipped unless
 * PORTCULLIS_TEST_POSTGRES_URL is set) that is dropped once the contract's hooks closed the app.
 */
export function describeOnEachDatabase(
  title: string,
  schemaPrefix: string,
  contract: (databaseUrl: () => Promise<string | undefined>) => void,
): void {
  void describe(`${title} (real control plane, nats-server, SQLite)`, () => {
    contract(async () => undefined);
  });

  void describe(`${title} on PostgreSQL`, { skip: POSTGRES_SKIP }, () => {
    let admin: DataSource | undefined;
    const schema = `${schemaPrefix}_${randomBytes(6).toString('hex')}`;
    contract(async () => {
      admin = new DataSource({ type: 'postgres', url: POSTGRES_URL });
      await admin.initialize();
      await admin.query(`CREATE SCHEMA "${schema}"`);
      const url = new URL(POSTGRES_URL ?? '');
      url.searchParams.set('schema', schema);
      return url.toString();
    });
    // Registered after the contract's hooks, so it runs once the app has closed its connections.
    void after(async () => {
      await admin?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin?.destroy();
    });
  });
}
