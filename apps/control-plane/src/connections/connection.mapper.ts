import type { CredentialType } from '@portcullis/contracts';
import type { ConnectionEntity } from './connection.entity';
import type { ConnectionDto } from './connection.dto';

/**
 * Entity → DTO, field by field. The secret columns are not read here at all: what the API shows of a
 * credential is its type, header name and rotation time.
 */
export function toConnectionDto(row: ConnectionEntity): ConnectionDto {
  return {
    name: row.name,
    type: 'http',
    url: row.url,
    labels: JSON.parse(row.labels) as Record<string, string>,
    enforcers: JSON.parse(row.enforcers) as string[],
    credentials:
      row.credentialType === null
        ? null
        : {
            type: row.credentialType as CredentialType,
            ...(row.credentialHeaderName !== null ? { header_name: row.credentialHeaderName } : {}),
            set: true,
            rotated_at: new Date(row.credentialsRotatedAtMs ?? row.updatedAtMs).toISOString(),
          },
    revision: row.revision,
    created_at: new Date(row.createdAtMs).toISOString(),
    created_by: row.createdBy,
    updated_at: new Date(row.updatedAtMs).toISOString(),
    updated_by: row.updatedBy,
  };
}
