import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service';

export type UploadResult = 'accepted' | 'rejected' | 'invalid' | 'error';

/** Bundle metrics on the app's registry. */
@Injectable()
export class BundleMetrics {
  readonly activeVersion: Gauge<'bundle'>;
  readonly uploads: Counter<'result'>;
  readonly compileDuration: Histogram<'result'>;

  constructor(metrics: MetricsService) {
    const registers = [metrics.registry];
    this.activeVersion = new Gauge({
      name: 'portcullis_control_plane_bundle_active_version',
      help: 'Active version of each bundle, as published to enforcers',
      labelNames: ['bundle'],
      registers,
    });
    this.uploads = new Counter({
      name: 'portcullis_control_plane_bundle_uploads_total',
      help: 'Bundle version uploads by result (accepted, rejected by opa, invalid request, error)',
      labelNames: ['result'],
      registers,
    });
    this.compileDuration = new Histogram({
      name: 'portcullis_control_plane_bundle_compile_duration_seconds',
      help: 'Time for opa check + test + build of one uploaded version',
      labelNames: ['result'],
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers,
    });
  }
}
