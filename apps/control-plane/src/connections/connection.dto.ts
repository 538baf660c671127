import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { NAME_PATTERN } from '@portcullis/contracts';

const ENFORCERS_DESCRIPTION =
  'Hardening: the enforcer ids (ENFORCER_ID) the credential may be sealed to, ["*"] for every enforcer, [] for none. An enforcer receives the secret only if it is listed here AND serves the connection (ENFORCER_SERVES).';

/** A credential as written to the API (schema only; ConnectionRequestValidator checks the body). */
export class CredentialInputDto {
  @ApiProperty({ enum: ['bearer', 'basic', 'header'] })
  type!: 'bearer' | 'basic' | 'header';
  @ApiPropertyOptional({
    description: 'type bearer: sent as `Authorization: Bearer <token>`',
    writeOnly: true,
  })
  token?: string;
  @ApiPropertyOptional({
    description: 'type basic (write-only like the password)',
    writeOnly: true,
  })
  username?: string;
  @ApiPropertyOptional({ description: 'type basic', writeOnly: true })
  password?: string;
  @ApiPropertyOptional({
    description: 'type header: the header name (not hop-by-hop, Host or Content-Length)',
    example: 'X-Api-Key',
  })
  name?: string;
  @ApiPropertyOptional({ description: 'type header: the header value', writeOnly: true })
  value?: string;
}

/** The body of POST /v1/connections (schema only). */
export class CreateConnectionDto {
  @ApiProperty({ pattern: NAME_PATTERN.source, example: 'crm' })
  name!: string;
  @ApiProperty({ enum: ['http'] })
  type!: 'http';
  @ApiProperty({
    description: 'http or https base URL, without userinfo, query or fragment',
    example: 'https://crm.internal:8443/api',
  })
  url!: string;
  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' } })
  labels?: Record<string, string>;
  @ApiPropertyOptional({
    type: CredentialInputDto,
    nullable: true,
    description: 'Injected by enforcers into allowed calls; never readable back',
  })
  credentials?: CredentialInputDto | null;
  @ApiPropertyOptional({
    type: [String],
    description: ENFORCERS_DESCRIPTION + ' Default: CONNECTION_DEFAULT_ENFORCERS (unset: ["*"]).',
    example: ['crm-eu-1', 'crm-eu-2'],
  })
  enforcers?: string[];
}

/** The body of PATCH /v1/connections/{name} (schema only): absent fields stay as they are. */
export class PatchConnectionDto {
  @ApiPropertyOptional()
  url?: string;
  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' } })
  labels?: Record<string, string>;
  @ApiPropertyOptional({
    type: CredentialInputDto,
    nullable: true,
    description: 'An object rotates the credential; null removes it',
  })
  credentials?: CredentialInputDto | null;
  @ApiPropertyOptional({ type: [String], description: ENFORCERS_DESCRIPTION })
  enforcers?: string[];
}

/** What the API shows of a credential: that one is set, of which type, since when. Never the secret. */
export class CredentialStatusDto {
  @ApiProperty({ enum: ['bearer', 'basic', 'header'] })
  type!: 'bearer' | 'basic' | 'header';
  @ApiPropertyOptional({ description: 'type header only: the header it is sent in' })
  header_name?: string;
  @ApiProperty({ enum: [true] })
  set!: true;
  @ApiProperty({ format: 'date-time', description: 'When the credential was last set' })
  rotated_at!: string;
}

/** A connection as the API returns it. */
export class ConnectionDto {
  @ApiProperty()
  name!: string;
  @ApiProperty({ enum: ['http'] })
  type!: 'http';
  @ApiProperty()
  url!: string;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } })
  labels!: Record<string, string>;
  @ApiProperty({ type: CredentialStatusDto, nullable: true })
  credentials!: CredentialStatusDto | null;
  @ApiProperty({ type: [String], description: ENFORCERS_DESCRIPTION })
  enforcers!: string[];
  @ApiProperty({ type: 'integer', description: 'Increases with every change' })
  revision!: number;
  @ApiProperty({ format: 'date-time' })
  created_at!: string;
  @ApiProperty({ description: 'Token subject of the creator' })
  created_by!: string;
  @ApiProperty({ format: 'date-time' })
  updated_at!: string;
  @ApiProperty({ description: 'Token subject of the last change' })
  updated_by!: string;
}

/** The body of GET /v1/connections, by name. */
export class ConnectionListDto {
  @ApiProperty({ type: [ConnectionDto] })
  items!: ConnectionDto[];
}
