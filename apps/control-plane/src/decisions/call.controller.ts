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
import { CallDto, CallPageDto } from './call.dto';
import { ApiDecisionQuery } from './decision-query.decorator';
import { DecisionQueryParser } from './decision-query.parser';
import { DecisionService } from './decision.service';

/**
 * Recorded calls for auditors (role `auditor`): the decision log seen as calls. Same records,
 * filters and cursors as `/v1/decisions`. Thin: validation and logic live elsewhere.
 */
@ApiTags('calls')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorDto, description: 'Missing or invalid token' })
@ApiForbiddenResponse({ type: ErrorDto, description: 'The caller lacks the auditor role' })
@Roles('auditor')
@Controller('v1/calls')
export class CallController {
  constructor(private readonly decisions: DecisionService) {}

  @Get()
  @ApiOperation({
    summary: 'List recorded calls, newest first',
    description:
      'The same filters and keyset cursor as GET /v1/decisions, combined with AND. Recorded bodies are ' +
      'included; a page ends early (with a next_cursor) when its bodies reach 8 MiB.',
  })
  @ApiDecisionQuery()
  @ApiOkResponse({ type: CallPageDto })
  @ApiBadRequestResponse({
    type: ErrorDto,
    description: 'A parameter is invalid; the message names it',
  })
  async list(@Query() raw: Record<string, unknown>): Promise<CallPageDto> {
    return this.decisions.listCalls(DecisionQueryParser.parse(raw));
  }

  @Get(':decision_id')
  @ApiOperation({
    summary: 'One call by decision id (the x-portcullis-decision-id header of the response)',
  })
  @ApiParam({ name: 'decision_id', format: 'uuid' })
  @ApiOkResponse({ type: CallDto })
  @ApiBadRequestResponse({ type: ErrorDto, description: 'Not a decision id' })
  @ApiNotFoundResponse({
    type: ErrorDto,
    description: 'Not stored (yet: events arrive within moments of the call)',
  })
  async get(@Param('decision_id') decisionId: string): Promise<CallDto> {
    return this.decisions.getCall(decisionId);
  }
}
