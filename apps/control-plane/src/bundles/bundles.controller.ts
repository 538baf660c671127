import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiBody,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiPayloadTooLargeResponse,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { CurrentPrincipal } from '../auth/current-principal.decorator';
import type { Principal } from '../auth/principal.model';
import { Roles } from '../auth/roles.decorator';
import { NAME_PATTERN } from '@portcullis/contracts';
import { ErrorDto } from '../errors/error.dto';
import { BundleUploadValidator } from './bundle-upload.validator';
import {
  ActivationDto,
  BundleActivationListDto,
  BundleDto,
  BundleListDto,
  BundleRejectionDto,
  BundleVersionDetailDto,
  BundleVersionDto,
  UploadBundleVersionDto,
} from './bundle.dto';
import { BundleQueryService } from './bundle-query.service';
import { ActivateBundleVersionUseCase } from './use-cases/activate-bundle-version.use-case';
import { UploadBundleVersionUseCase } from './use-cases/upload-bundle-version.use-case';

const NAME_PARAM = {
  name: 'name',
  description: 'Bundle name',
  schema: { type: 'string', pattern: NAME_PATTERN.source },
} as const;
const VERSION_PARAM = {
  name: 'version',
  schema: { type: 'integer', minimum: 1, maximum: 999_999_999 },
} as const;

/**
 * REST for bundles: upload (check, test, compile), activation and rollback for `policy-admin`,
 * reads for `auditor` too. Thin: input is validated by BundleUploadValidator, writes are use
 * cases and reads go through BundleQueryService.
 */
@ApiTags('bundles')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorDto, description: 'Missing or invalid bearer token' })
@ApiForbiddenResponse({ type: ErrorDto, description: 'Token lacks the required role' })
@ApiBadRequestResponse({ type: ErrorDto, description: 'Invalid bundle name, version or body' })
@ApiServiceUnavailableResponse({
  type: ErrorDto,
  description: 'NATS, the database or opa cannot serve the request now; retry',
})
@Controller('v1/bundles')
@Roles('policy-admin')
export class BundlesController {
  constructor(
    private readonly upload: UploadBundleVersionUseCase,
    private readonly activate: ActivateBundleVersionUseCase,
    private readonly query: BundleQueryService,
  ) {}

  @Get()
  @Roles('policy-admin', 'auditor')
  @ApiOperation({ summary: 'List bundles with their active and latest versions' })
  @ApiOkResponse({ type: BundleListDto })
  list(): Promise<BundleListDto> {
    return this.query.list();
  }

  @Get(':name')
  @Roles('policy-admin', 'auditor')
  @ApiOperation({
    summary: 'A bundle: its active version and all versions (newest first, without artifacts)',
  })
  @ApiParam(NAME_PARAM)
  @ApiOkResponse({ type: BundleDto })
  @ApiNotFoundResponse({ type: ErrorDto })
  get(@Param('name') name: string): Promise<BundleDto> {
    return this.query.get(BundleUploadValidator.bundleName(name));
  }

  @Get(':name/activations')
  @Roles('policy-admin', 'auditor')
  @ApiOperation({
    summary: 'Activation history: who made which version active when (rollbacks too), newest first',
  })
  @ApiParam(NAME_PARAM)
  @ApiOkResponse({ type: BundleActivationListDto })
  @ApiNotFoundResponse({ type: ErrorDto })
  activations(@Param('name') name: string): Promise<BundleActivationListDto> {
    return this.query.activations(BundleUploadValidator.bundleName(name));
  }

  @Get(':name/versions/:version')
  @Roles('policy-admin', 'auditor')
  @ApiOperation({ summary: 'One version with its Rego sources and data' })
  @ApiParam(NAME_PARAM)
  @ApiParam(VERSION_PARAM)
  @ApiOkResponse({ type: BundleVersionDetailDto })
  @ApiNotFoundResponse({ type: ErrorDto })
  version(
    @Param('name') name: string,
    @Param('version') version: string,
  ): Promise<BundleVersionDetailDto> {
    return this.query.version(
      BundleUploadValidator.bundleName(name),
      BundleUploadValidator.version(version),
    );
  }

  @Post(':name/versions')
  @HttpCode(201)
  @ApiOperation({
    summary: 'Upload a new immutable version',
    description:
      'Runs `opa check --strict`, `opa test` and `opa build -t wasm -e portcullis/decision` with the enforcer’s ' +
      'capabilities. A rejected version is not stored; the 422 lists every problem with file, row and column.',
  })
  @ApiParam(NAME_PARAM)
  @ApiBody({ type: UploadBundleVersionDto })
  @ApiCreatedResponse({ type: BundleVersionDto })
  @ApiPayloadTooLargeResponse({ type: ErrorDto })
  @ApiUnprocessableEntityResponse({
    type: BundleRejectionDto,
    description: 'opa rejected the bundle',
  })
  create(
    @Param('name') name: string,
    // `unknown`, not the DTO class: the global ValidationPipe skips it, and BundleUploadValidator
    // checks the body as parsed (see there for why class-transformer must not touch it).
    @Body() body: unknown,
    @CurrentPrincipal() principal: Principal,
  ): Promise<BundleVersionDto> {
    return this.upload.execute({ bundle: name, body, principal });
  }

  @Post(':name/versions/:version/activate')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Activate a version (an older one: rollback); enforcers switch once they verified it',
  })
  @ApiParam(NAME_PARAM)
  @ApiParam(VERSION_PARAM)
  @ApiOkResponse({ type: ActivationDto })
  @ApiNotFoundResponse({ type: ErrorDto })
  @ApiConflictResponse({ type: ErrorDto })
  activateVersion(
    @Param('name') name: string,
    @Param('version') version: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ActivationDto> {
    return this.activate.execute({
      bundle: BundleUploadValidator.bundleName(name),
      version: BundleUploadValidator.version(version),
      principal,
    });
  }
}
