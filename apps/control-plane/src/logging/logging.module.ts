import { Global, Module } from '@nestjs/common';
import { Logger } from '@portcullis/platform';
import { CONTROL_PLANE_CONFIG, type ControlPlaneConfig } from '../config/control-plane.config';

/** Provides the JSON-lines {@link Logger} of @portcullis/platform; inject `Logger` and call `.child(name)`. */
@Global()
@Module({
  providers: [
    {
      provide: Logger,
      inject: [CONTROL_PLANE_CONFIG],
      useFactory: (config: ControlPlaneConfig) => new Logger('control-plane', config.logLevel),
    },
  ],
  exports: [Logger],
})
export class LoggingModule {}
