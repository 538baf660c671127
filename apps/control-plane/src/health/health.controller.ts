import { Controller, Get, HttpCode, Res } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import {
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { Public } from '../auth/public.decorator';
import { ComponentHealthDto, LivenessDto, ReadinessDto } from './health.dto';
import { HealthService } from './health.service';

@ApiTags('health')
// ReadinessDto refers to it by $ref only; without this the document had a dangling reference.
/**
 * Public liveness and readiness probes for orchestrators. Readiness runs every check registered
 * in HealthRegistry and answers 503 while any component is not ok.
 */
@ApiExtraModels(ComponentHealthDto)
@Controller()
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Public()
  @Get('healthz')
  @HttpCode(200)
  @ApiOperation({ summary: 'Liveness: the process serves HTTP' })
  @ApiOkResponse({ type: LivenessDto })
  liveness(): LivenessDto {
    return this.health.liveness();
  }

  @Public()
  @Get('readyz')
  @ApiOperation({ summary: 'Readiness: database, NATS and the opa compiler all answer' })
  @ApiOkResponse({ type: ReadinessDto })
  @ApiServiceUnavailableResponse({ type: ReadinessDto })
  async readiness(@Res() res: ServerResponse): Promise<void> {
    const report = await this.health.readiness();
    res.statusCode = report.ready ? 200 : 503;
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.setHeader('cache-control', 'no-store');
    res.end(JSON.stringify(report));
  }
}
