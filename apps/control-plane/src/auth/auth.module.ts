import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TokenVerifier } from '@portcullis/identity';
import { CONTROL_PLANE_CONFIG, type ControlPlaneConfig } from '../config/control-plane.config';
import { AuthGuard } from './auth.guard';

/** Installs {@link AuthGuard} for every route of the app. */
@Module({
  providers: [
    {
      provide: TokenVerifier,
      inject: [CONTROL_PLANE_CONFIG],
      useFactory: (config: ControlPlaneConfig) =>
        new TokenVerifier({
          issuer: config.auth.issuer,
          audience: config.auth.audience,
          ...(config.auth.jwksUrl ? { jwksUrl: config.auth.jwksUrl } : {}),
        }),
    },
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
})
export class AuthModule {}
