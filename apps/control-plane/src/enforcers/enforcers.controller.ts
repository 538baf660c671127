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
import { EnforcerService } from './enforcer.service';

/**
 * The enforcer fleet for auditors and policy admins: which bundle version each enforcer runs and
 * its last error, as the enforcers report it. Thin: the mapping lives in EnforcerService.
 */
@ApiTags('enforcers')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorDto })
@ApiForbiddenResponse({ type: ErrorDto })
@Controller('v1/enforcers')
export class EnforcersController {
  constructor(private readonly enforcers: EnforcerService) {}

  @Get()
  @Roles('auditor', 'policy-admin')
  @ApiOperation({
    summary: 'Enforcers and the bundle version each one runs (from their status reports)',
  })
  @ApiOkResponse({ type: EnforcerListDto })
  @ApiServiceUnavailableResponse({ type: ErrorDto })
  list(): Promise<EnforcerListDto> {
    return this.enforcers.list();
  }
}
