import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/**
 * The upload body as documented in OpenAPI. Validation is BundleUploadValidator's, on the body as
 * parsed; this class is only the schema.
 */
export class UploadBundleVersionDto {
  @ApiProperty({
    description:
      'Rego modules by relative path (`<dir>/<name>.rego`); paths are how errors refer to files',
    type: 'object',
    additionalProperties: { type: 'string' },
    example: {
      'portcullis/decision.rego':
        'package portcullis\n\ndecision := {"allow": true, "reasons": []}\n',
    },
  })
  modules!: Record<string, unknown>;

  @ApiPropertyOptional({
    description: 'Base document available to the policy as `data`',
    type: 'object',
    additionalProperties: true,
  })
  data?: Record<string, unknown>;

  @ApiPropertyOptional({ description: 'Activate the version once stored (default false)' })
  activate?: boolean;
}

/**
 * One stored, immutable bundle version without its sources or artifacts: the 201 body of an
 * upload and an entry of a bundle's version list.
 */
export class BundleVersionDto {
  @ApiProperty({ example: 'default' })
  bundle!: string;
  @ApiProperty({ description: 'Per bundle, from 1', example: 3 })
  version!: number;
  @ApiProperty({ description: 'Hex sha256 of policy.wasm', example: 'e3b0c442…' })
  digest!: string;
  @ApiProperty({ description: 'Hex sha256 of data.json as distributed' })
  data_digest!: string;
  @ApiProperty({ example: 'portcullis/decision' })
  entrypoint!: string;
  @ApiProperty({ description: 'Whether this is the bundle’s active version now' })
  active!: boolean;
  @ApiProperty({ description: 'Size of policy.wasm in bytes' })
  wasm_bytes!: number;
  @ApiProperty({ format: 'date-time' })
  created_at!: string;
  @ApiProperty({ description: 'Token subject of the uploader' })
  created_by!: string;
}

/**
 * One version with the Rego sources and data exactly as uploaded, for reviewing what an enforcer
 * runs.
 */
export class BundleVersionDetailDto extends BundleVersionDto {
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } })
  modules!: Record<string, string>;
  @ApiProperty({ type: 'object', additionalProperties: true })
  data!: Record<string, unknown>;
}

/**
 * A bundle with its active version (null until one is activated) and every version, newest first.
 */
export class BundleDto {
  @ApiProperty()
  name!: string;
  @ApiProperty({ type: 'integer', nullable: true })
  active_version!: number | null;
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  activated_at!: string | null;
  @ApiProperty({ type: 'string', nullable: true })
  activated_by!: string | null;
  @ApiProperty({ type: [BundleVersionDto], description: 'Newest first' })
  versions!: BundleVersionDto[];
}

/** One bundle in GET /v1/bundles: its active and latest versions, without the version list. */
export class BundleSummaryDto {
  @ApiProperty()
  name!: string;
  @ApiProperty({ type: 'integer', nullable: true })
  active_version!: number | null;
  @ApiProperty({ type: 'integer' })
  latest_version!: number;
  @ApiProperty({ type: 'integer' })
  version_count!: number;
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  activated_at!: string | null;
}

/** The body of GET /v1/bundles: every bundle the control plane stores. */
export class BundleListDto {
  @ApiProperty({ type: [BundleSummaryDto] })
  items!: BundleSummaryDto[];
}

/**
 * The result of an activation: the version now recorded as active; enforcers switch once they
 * have verified it.
 */
export class ActivationDto {
  @ApiProperty()
  bundle!: string;
  @ApiProperty({ type: 'integer' })
  active_version!: number;
  @ApiProperty({ description: 'Hex sha256 of the active policy.wasm' })
  digest!: string;
  @ApiProperty({ format: 'date-time' })
  activated_at!: string;
  @ApiProperty()
  activated_by!: string;
}

/**
 * One entry of a bundle's activation history: who made which version active when, and what it
 * replaced.
 */
export class BundleActivationDto {
  @ApiProperty({ type: 'integer', description: 'The version made active' })
  version!: number;
  @ApiProperty({ description: 'Hex sha256 of that version’s policy.wasm' })
  digest!: string;
  @ApiProperty({
    type: 'integer',
    nullable: true,
    description: 'The version it replaced (null for the first activation)',
  })
  previous_version!: number | null;
  @ApiProperty({ description: 'Subject of the token that activated it' })
  activated_by!: string;
  @ApiProperty({ format: 'date-time' })
  activated_at!: string;
}

/** The body of GET /v1/bundles/{name}/activations, newest first. */
export class BundleActivationListDto {
  @ApiProperty({ type: [BundleActivationDto], description: 'Newest first' })
  items!: BundleActivationDto[];
}

/**
 * One problem OPA reported for a rejected upload, located in the module as the author named it
 * (file, row, col may be null when OPA gives no location).
 */
export class BundleProblemDto {
  @ApiProperty({
    description: 'OPA’s error code, e.g. rego_parse_error, rego_type_error, opa_test_failed',
  })
  code!: string;
  @ApiProperty({ type: 'string', nullable: true, description: 'Module path as uploaded' })
  file!: string | null;
  @ApiProperty({ type: 'integer', nullable: true })
  row!: number | null;
  @ApiProperty({ type: 'integer', nullable: true })
  col!: number | null;
  @ApiProperty()
  message!: string;
}

/** The 422 body of a rejected upload: every problem OPA reported; nothing was stored. */
export class BundleRejectionDto {
  @ApiProperty({ type: [BundleProblemDto] })
  errors!: BundleProblemDto[];
}
