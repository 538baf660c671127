import { Controller, Get, Header, Res } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '../auth/public.decorator';
import { MetricsService } from './metrics.service';

/**
 * GET /metrics in the Prometheus text format; public like the health probes and kept out of the
 * OpenAPI document.
 */
@ApiExcludeController()
@Controller()
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Public()
  @Get('metrics')
  @Header('cache-control', 'no-store')
  async scrape(@Res() res: ServerResponse): Promise<void> {
    const { contentType, body } = await this.metrics.render();
    res.statusCode = 200;
    res.setHeader('content-type', contentType);
    res.end(body);
  }
}
