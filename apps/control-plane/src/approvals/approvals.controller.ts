import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiBody,
  ApiConflictResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiQuery,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { APPROVAL_STATUSES } from '@portcullis/contracts';
import { CurrentPrincipal } from '../auth/current-principal.decorator';
import { AnyAuthenticated, type Principal } from '../auth/principal.model';
import { Roles } from '../auth/roles.decorator';
import { ErrorDto } from '../errors/error.dto';
import { ApprovalRequestValidator } from './approval-request.validator';
import { ApprovalVoteService } from './approval-vote.service';
import {
  ApprovalCommentDto,
  ApprovalDetailDto,
  ApprovalPageDto,
  ApprovalStatusDto,
} from './approval.dto';
import { ApprovalService } from './approval.service';

const ID_PARAM = { name: 'id', format: 'uuid', description: 'approval_id' } as const;

/**
 * REST for approvers (role `approver`) and auditors (read only), plus the requester's status
 * link. Thin: input is checked by ApprovalRequestValidator, the rules are the services'.
 */
@ApiTags('approvals')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorDto, description: 'Missing or invalid bearer token' })
@ApiForbiddenResponse({
  type: ErrorDto,
  description: 'forbidden (role), self_approval, or not_an_approver',
})
@ApiBadRequestResponse({ type: ErrorDto, description: 'Invalid id, query or body' })
@ApiServiceUnavailableResponse({ type: ErrorDto, description: 'The database cannot serve now' })
@Controller('v1/approvals')
@Roles('approver', 'auditor')
export class ApprovalsController {
  constructor(
    private readonly approvals: ApprovalService,
    private readonly votes: ApprovalVoteService,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'List approval requests, newest first (keyset pagination)',
    description:
      'Auditors see every request; approvers only those whose approvers name them (user or group). status is the effective status: pending excludes requests past expires_at, expired includes them.',
  })
  @ApiQuery({ name: 'status', required: false, enum: APPROVAL_STATUSES })
  @ApiQuery({ name: 'cursor', required: false, description: 'next_cursor of the previous page' })
  @ApiQuery({
    name: 'limit',
    required: false,
    schema: { type: 'integer', minimum: 1, maximum: 200 },
  })
  @ApiOkResponse({ type: ApprovalPageDto })
  list(
    @Query() raw: Record<string, unknown>,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ApprovalPageDto> {
    return this.approvals.list(ApprovalRequestValidator.list(raw), principal);
  }

  @Get(':id')
  @ApiOperation({
    summary: 'One request with its (masked) body, approvals given and history',
    description: 'Auditors read every request; approvers only those whose approvers name them.',
  })
  @ApiParam(ID_PARAM)
  @ApiOkResponse({ type: ApprovalDetailDto })
  @ApiNotFoundResponse({
    type: ErrorDto,
    description: 'No such request, or (for an approver) one whose approvers do not name them',
  })
  get(
    @Param('id') id: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ApprovalDetailDto> {
    return this.approvals.detail(ApprovalRequestValidator.id(id), principal);
  }

  @Get(':id/status')
  @AnyAuthenticated()
  @ApiOperation({
    summary: 'The status of a request, for its requester (the status_url of the 202)',
    description:
      'Readable by the token whose subject (from this control plane’s issuer) requested it, by approvers the request names, and by auditors. Anyone else gets 404.',
  })
  @ApiParam(ID_PARAM)
  @ApiOkResponse({ type: ApprovalStatusDto })
  @ApiNotFoundResponse({ type: ErrorDto })
  status(
    @Param('id') id: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ApprovalStatusDto> {
    return this.approvals.status(ApprovalRequestValidator.id(id), principal);
  }

  @Post(':id/approve')
  @HttpCode(200)
  @Roles('approver')
  @ApiOperation({
    summary: 'Approve (counts once per approver; approved at min_approvals)',
  })
  @ApiParam(ID_PARAM)
  @ApiBody({ type: ApprovalCommentDto, required: false })
  @ApiOkResponse({ type: ApprovalDetailDto })
  @ApiNotFoundResponse({ type: ErrorDto })
  @ApiConflictResponse({
    type: ErrorDto,
    description: 'approval_expired, approval_not_pending or already_approved',
  })
  approve(
    @Param('id') id: string,
    // `unknown`: ApprovalRequestValidator checks the body as parsed (the global pipe skips it).
    @Body() body: unknown,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ApprovalDetailDto> {
    const valid = ApprovalRequestValidator.id(id);
    return this.votes.approve(valid, principal, ApprovalRequestValidator.comment(body, false));
  }

  @Post(':id/deny')
  @HttpCode(200)
  @Roles('approver')
  @ApiOperation({ summary: 'Deny (ends the request at once); comment required' })
  @ApiParam(ID_PARAM)
  @ApiBody({ type: ApprovalCommentDto })
  @ApiOkResponse({ type: ApprovalDetailDto })
  @ApiNotFoundResponse({ type: ErrorDto })
  @ApiConflictResponse({ type: ErrorDto, description: 'approval_expired or approval_not_pending' })
  deny(
    @Param('id') id: string,
    @Body() body: unknown,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ApprovalDetailDto> {
    const valid = ApprovalRequestValidator.id(id);
    const comment = ApprovalRequestValidator.comment(body, true) ?? '';
    return this.votes.deny(valid, principal, comment);
  }
}
