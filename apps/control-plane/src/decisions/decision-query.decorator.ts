import { applyDecorators } from '@nestjs/common';
import { ApiQuery } from '@nestjs/swagger';
import { NAME_PATTERN, OUTCOMES } from '@portcullis/contracts';
import { DECISION_PAGE_LIMIT } from './decision-query.parser';

/**
 * The OpenAPI description of the query parameters `DecisionQueryParser` accepts, shared by every
 * endpoint that lists the decision log (`GET /v1/decisions`, `GET /v1/calls`).
 */
export function ApiDecisionQuery(): MethodDecorator {
  return applyDecorators(
    ApiQuery({ name: 'subject', required: false, description: 'Exact token subject' }),
    ApiQuery({
      name: 'connection',
      required: false,
      description: 'Exact connection name',
      example: 'crm',
    }),
    ApiQuery({ name: 'outcome', required: false, enum: OUTCOMES }),
    ApiQuery({
      name: 'bundle',
      required: false,
      description: 'Bundle name',
      example: 'default',
      schema: { type: 'string', pattern: NAME_PATTERN.source },
    }),
    ApiQuery({
      name: 'bundle_version',
      required: false,
      schema: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
      description: 'Bundle version that decided',
    }),
    ApiQuery({
      name: 'enforcer_id',
      required: false,
      schema: { type: 'string', pattern: NAME_PATTERN.source },
    }),
    ApiQuery({
      name: 'from',
      required: false,
      schema: { type: 'string', format: 'date-time' },
      description: 'RFC 3339; decisions at or after this instant',
    }),
    ApiQuery({
      name: 'to',
      required: false,
      schema: { type: 'string', format: 'date-time' },
      description: 'RFC 3339; decisions strictly before this instant',
    }),
    ApiQuery({
      name: 'limit',
      required: false,
      schema: { type: 'integer', minimum: 1, maximum: DECISION_PAGE_LIMIT.max },
      description: `Page size, 1 to ${DECISION_PAGE_LIMIT.max} (default ${DECISION_PAGE_LIMIT.default})`,
    }),
    ApiQuery({
      name: 'cursor',
      required: false,
      description: 'next_cursor of the previous page, unchanged',
    }),
  );
}
