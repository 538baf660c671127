import { Controller, Get, Param, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiQuery,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { NAME_PATTERN, OUTCOMES } from '@portcullis/contracts';
import { Roles } from '../auth/roles.decorator';
import { ErrorDto } from '../errors/error.dto';
import { DECISION_PAGE_LIMIT, DecisionQueryParser } from './decision-query.parser';
import { DecisionDto, DecisionPageDto } from './decision.dto';
import { DecisionService } from './decision.service';

/** The decision log for auditors (role `auditor`). Thin: validation and logic live elsewhere. */
@ApiTags('decisions')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorDto, description: 'Missing or invalid token' })
@ApiForbiddenResponse({ type: ErrorDto, description: 'The caller lacks the auditor role' })
@Roles('auditor')
@Controller('v1/decisions')
export class DecisionController {
  constructor(private readonly decisions: DecisionService) {}

  @Get()
  @ApiOperation({
    summary: 'List decisions, newest first',
    description:
      'Filters are combined with AND. Pagination is keyset-based: pass next_cursor as cursor to get the ' +
      'next page; it stays valid while new decisions arrive. Unknown or repeated parameters are rejected.',
  })
  @ApiQuery({ name: 'subject', required: false, description: 'Exact token subject' })
  @ApiQuery({
    name: 'connection',
    required: false,
    description: 'Exact connection name',
    example: 'crm',
  })
  @ApiQuery({ name: 'outcome', required: false, enum: OUTCOMES })
  @ApiQuery({
    name: 'bundle',
    required: false,
    description: 'Bundle name',
    example: 'default',
    schema: { type: 'string', pattern: NAME_PATTERN.source },
  })
  @ApiQuery({
    name: 'bundle_version',
    required: false,
    schema: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
    description: 'Bundle version that decided',
  })
  @ApiQuery({
    name: 'enforcer_id',
    required: false,
    schema: { type: 'string', pattern: NAME_PATTERN.source },
  })
  @ApiQuery({
    name: 'from',
    required: false,
    schema: { type: 'string', format: 'date-time' },
    description: 'RFC 3339; decisions at or after this instant',
  })
  @ApiQuery({
    name: 'to',
    required: false,
    schema: { type: 'string', format: 'date-time' },
    description: 'RFC 3339; decisions strictly before this instant',
  })
  @ApiQuery({
    name: 'limit',
    required: false,
    schema: { type: 'integer', minimum: 1, maximum: DECISION_PAGE_LIMIT.max },
    description: `Page size, 1 to ${DECISION_PAGE_LIMIT.max} (default ${DECISION_PAGE_LIMIT.default})`,
  })
  @ApiQuery({
    name: 'cursor',
    required: false,
    description: 'next_cursor of the previous page, unchanged',
  })
  @ApiOkResponse({ type: DecisionPageDto })
  @ApiBadRequestResponse({
    type: ErrorDto,
    description: 'A parameter is invalid; the message names it',
  })
  async list(@Query() raw: Record<string, unknown>): Promise<DecisionPageDto> {
    return this.decisions.list(DecisionQueryParser.parse(raw));
  }

  @Get(':decision_id')
  @ApiOperation({
    summary: 'One decision by id (the x-portcullis-decision-id header of the enforcer response)',
  })
  @ApiParam({ name: 'decision_id', format: 'uuid' })
  @ApiOkResponse({ type: DecisionDto })
  @ApiBadRequestResponse({ type: ErrorDto, description: 'Not a decision id' })
  @ApiNotFoundResponse({
    type: ErrorDto,
    description: 'Not stored (yet: events arrive within moments of the call)',
  })
  async get(@Param('decision_id') decisionId: string): Promise<DecisionDto> {
    return this.decisions.get(decisionId);
  }
}
