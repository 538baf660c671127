import { Inject, Injectable } from '@nestjs/common';
import type { ConnectionCredential } from '@portcullis/contracts';
import { Logger, errorMessage } from '@portcullis/platform';
import type { Principal } from '../auth/principal.model';
import { ConflictError, NotFoundError } from '../errors/domain.error';
import { CONNECTION_DEFAULT_ENFORCERS } from './connection-enforcers.allow-list';
import type { CreateConnectionInput, PatchConnectionInput } from './connection-request.validator';
import { ConnectionSecretCipher } from './connection-secret.cipher';
import type { ConnectionDto, ConnectionListDto } from './connection.dto';
import { ConnectionEntity } from './connection.entity';
import { toConnectionDto } from './connection.mapper';
import { ConnectionPublisher } from './connection.publisher';
import { ConnectionRepository } from './connection.repository';

/** Optimistic-lock rounds of a PATCH before it reports a conflict. */
const MAX_PATCH_ATTEMPTS = 5;

/**
 * Connections: stored with their credential encrypted at rest, returned without it, and published
 * to NATS after every change. The database is the record; when NATS is away the change still
 * stands and the reconciler publishes it within its next round.
 */
@Injectable()
export class ConnectionService {
  private readonly logger: Logger;

  constructor(
    private readonly connections: ConnectionRepository,
    private readonly cipher: ConnectionSecretCipher,
    private readonly publisher: ConnectionPublisher,
    @Inject(CONNECTION_DEFAULT_ENFORCERS) private readonly defaultEnforcers: readonly string[],
    logger: Logger,
  ) {
    this.logger = logger.child('connections');
  }

  async list(): Promise<ConnectionListDto> {
    return { items: (await this.connections.list()).map(toConnectionDto) };
  }

  async get(name: string): Promise<ConnectionDto> {
    return toConnectionDto(await this.existing(name));
  }

  async create(input: CreateConnectionInput, principal: Principal): Promise<ConnectionDto> {
    const now = Date.now();
    const row: ConnectionEntity = {
      name: input.name,
      type: input.type,
      url: input.url,
      labels: JSON.stringify(input.labels),
      ...this.credentialColumns(input.name, input.credentials, now),
      enforcers: JSON.stringify(input.enforcers ?? this.defaultEnforcers),
      revision: 1,
      createdBy: principal.subject,
      createdAtMs: now,
      updatedBy: principal.subject,
      updatedAtMs: now,
    };
    if (!(await this.connections.insert(row)))
      throw new ConflictError(`connection "${input.name}" already exists`);
    this.logger.info('connection created', {
      connection: row.name,
      credential_type: row.credentialType,
      enforcers: JSON.parse(row.enforcers) as string[],
      by: principal.subject,
    });
    await this.publish(row.name);
    return toConnectionDto(row);
  }

  async patch(
    name: string,
    input: PatchConnectionInput,
    principal: Principal,
  ): Promise<ConnectionDto> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.existing(name);
      const now = Date.now();
      const next: ConnectionEntity = {
        ...current,
        url: input.url ?? current.url,
        labels: input.labels ? JSON.stringify(input.labels) : current.labels,
        ...(input.credentials !== undefined
          ? this.credentialColumns(name, input.credentials, now)
          : {}),
        enforcers: input.enforcers ? JSON.stringify(input.enforcers) : current.enforcers,
        revision: current.revision + 1,
        updatedBy: principal.subject,
        updatedAtMs: now,
      };
      if (await this.connections.replace(next, current.revision)) {
        this.logger.info('connection changed', {
          connection: name,
          fields: Object.keys(input),
          credentials:
            input.credentials === undefined
              ? 'kept'
              : input.credentials === null
                ? 'removed'
                : 'rotated',
          ...(input.enforcers ? { enforcers: input.enforcers } : {}),
          by: principal.subject,
        });
        await this.publish(name);
        return toConnectionDto(next);
      }
      if (attempt >= MAX_PATCH_ATTEMPTS)
        throw new ConflictError(`connection "${name}" is being changed concurrently; retry`);
    }
  }

  async remove(name: string, principal: Principal): Promise<void> {
    if (!(await this.connections.delete(name)))
      throw new NotFoundError(`connection "${name}" does not exist`);
    this.logger.info('connection deleted', { connection: name, by: principal.subject });
    await this.publish(name);
  }

  private async existing(name: string): Promise<ConnectionEntity> {
    const row = await this.connections.find(name);
    if (!row) throw new NotFoundError(`connection "${name}" does not exist`);
    return row;
  }

  /** The credential columns for a new secret (encrypted here, in memory) or for none. */
  private credentialColumns(
    name: string,
    credential: ConnectionCredential | null,
    now: number,
  ): Pick<
    ConnectionEntity,
    | 'credentialType'
    | 'credentialHeaderName'
    | 'secretKeyId'
    | 'secretCiphertext'
    | 'credentialsRotatedAtMs'
  > {
    if (credential === null)
      return {
        credentialType: null,
        credentialHeaderName: null,
        secretKeyId: null,
        secretCiphertext: null,
        credentialsRotatedAtMs: null,
      };
    const sealed = this.cipher.encrypt(name, Buffer.from(JSON.stringify(credential), 'utf8'));
    return {
      credentialType: credential.type,
      credentialHeaderName: credential.type === 'header' ? credential.name : null,
      secretKeyId: sealed.kid,
      secretCiphertext: sealed.ciphertext,
      credentialsRotatedAtMs: now,
    };
  }

  /** Publishing is best effort here: the reconciler retries what fails (NATS away). */
  private async publish(name: string): Promise<void> {
    try {
      await this.publisher.publish(name);
    } catch (err) {
      this.logger.warn('connection not published yet; the reconciler will retry', {
        connection: name,
        error: errorMessage(err),
      });
    }
  }
}
