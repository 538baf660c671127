import { Controller, Get } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { Roles } from '../auth/roles.decorator';
import { ErrorDto } from '../errors/error.dto';
import { EnforcerListDto } from './enforcer.dto';
import { EnforcerStatusRepository } from './enforcer-status.repository';

@ApiTags('enforcers')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorDto })
@ApiForbiddenResponse({ type: ErrorDto })
@Controller('v1/enforcers')
export class EnforcersController {
  constructor(private readonly statuses: EnforcerStatusRepository) {}

  @Get()
  @Roles('auditor', 'policy-admin')
  @ApiOperation({
    summary: 'Enforcers and the bundle version each one runs (from their status reports)',
  })
  @ApiOkResponse({ type: EnforcerListDto })
  @ApiServiceUnavailableResponse({ type: ErrorDto })
  async list(): Promise<EnforcerListDto> {
    const items = await this.statuses.list();
    return {
      items: items.map((s) => ({
        enforcer_id: s.enforcer_id,
        bundle: s.bundle,
        active_version: s.active_version,
        active_digest: s.active_digest,
        activated_at: s.activated_at,
        last_error: s.last_error,
        started_at: s.started_at,
        reported_at: s.reported_at,
      })),
    };
  }
}
