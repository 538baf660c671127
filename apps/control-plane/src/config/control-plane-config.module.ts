import { Global, Module, type DynamicModule } from '@nestjs/common';
import { CONTROL_PLANE_CONFIG, type ControlPlaneConfig } from './control-plane.config';

/** Makes the validated configuration injectable everywhere as {@link CONTROL_PLANE_CONFIG}. */
@Global()
@Module({})
export class ControlPlaneConfigModule {
  static forRoot(config: ControlPlaneConfig): DynamicModule {
    return {
      module: ControlPlaneConfigModule,
      providers: [{ provide: CONTROL_PLANE_CONFIG, useValue: config }],
      exports: [CONTROL_PLANE_CONFIG],
    };
  }
}
