import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from '@portcullis/platform';
import { AppModule } from './app.module';
import { approvalMicroserviceOptions } from './approvals/approval-nats.transport';
import type { ControlPlaneConfig } from './config/control-plane.config';
import { NestLoggerAdapter } from './logging/nest-logger.adapter';

/** Largest accepted JSON body; bundle limits inside it are checked by the bundle upload rules. */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;

/** A running control plane and where it listens. */
export interface ControlPlaneApp {
  app: INestApplication;
  /** `http://host:port` actually bound (port 0 in the config resolves to a free port). */
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Builds, migrates and starts the control plane on `config.host:config.port`. Used by main.ts and
 * by integration tests (port 0, then `close()`); everything it opened closes with `close()`.
 */
export async function createControlPlaneApp(config: ControlPlaneConfig): Promise<ControlPlaneApp> {
  const logger = new Logger('control-plane', config.logLevel);
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    logger: new NestLoggerAdapter(logger.child('nest')),
    bodyParser: false,
    abortOnError: false,
  });
  try {
    app.disable('x-powered-by');
    app.useBodyParser('json', { limit: MAX_BODY_BYTES });
    const document = SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle('Portcullis control plane')
        .setDescription(
          'Policy bundles, distribution to enforcers, and decision logs. See docs/control-plane-api.md.',
        )
        .setVersion('1')
        // Declared per controller (@ApiBearerAuth), not document-wide: the probes, /metrics and
        // /docs need no token, and a global requirement told clients they did.
        .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
        .build(),
    );
    SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
    // Enforcers' approval requests (NATS request-reply, queue group); app.close() closes it too.
    app.connectMicroservice(approvalMicroserviceOptions(config));
    await app.startAllMicroservices();
    await app.listen(config.port, config.host);
  } catch (err) {
    await app.close();
    throw err;
  }
  const address = app.getHttpServer().address() as { port: number } | string | null;
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host}:${port}`;
  return { app, url, port, close: () => app.close() };
}
