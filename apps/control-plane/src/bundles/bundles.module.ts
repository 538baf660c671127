import { Module, type OnModuleInit } from '@nestjs/common';
import { HealthRegistry } from '../health/health.registry';
import { BundleDistributionRepository } from './bundle-distribution.repository';
import { BundlePointerReconciler } from './bundle-pointer.reconciler';
import { BundleQueryService } from './bundle-query.service';
import { BundleMetrics } from './bundle.metrics';
import { BundlePublisher } from './bundle.publisher';
import { BundleRepository } from './bundle.repository';
import { BundlesController } from './bundles.controller';
import { OpaCompilerRepository } from './opa-compiler.repository';
import { ActivateBundleVersionUseCase } from './use-cases/activate-bundle-version.use-case';
import { UploadBundleVersionUseCase } from './use-cases/upload-bundle-version.use-case';

/** Bundles: upload (check, test, compile), versions, activation and distribution over NATS. */
@Module({
  controllers: [BundlesController],
  providers: [
    OpaCompilerRepository,
    BundleRepository,
    BundleDistributionRepository,
    BundleMetrics,
    BundlePublisher,
    BundlePointerReconciler,
    BundleQueryService,
    UploadBundleVersionUseCase,
    ActivateBundleVersionUseCase,
  ],
})
export class BundlesModule implements OnModuleInit {
  constructor(
    private readonly health: HealthRegistry,
    private readonly compiler: OpaCompilerRepository,
  ) {}

  onModuleInit(): void {
    this.health.register('compiler', async () => ({
      state: 'ok',
      detail: `opa ${await this.compiler.version()}`,
    }));
  }
}
