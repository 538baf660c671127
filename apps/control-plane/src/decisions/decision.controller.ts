import { Controller, Get, Param, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { Roles } from '../auth/roles.decorator';
import { ErrorDto } from '../errors/error.dto';
import { ApiDecisionQuery } from './decision-query.decorator';
import { DecisionQueryParser } from './decision-query.parser';
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
  @ApiDecisionQuery()
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
