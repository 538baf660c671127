import type { LoggerService } from '@nestjs/common';
import type { Logger } from '@portcullis/platform';

/** Routes Nest's own messages into the JSON log; its chatter (route mapping …) only at debug. */
export class NestLoggerAdapter implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, context?: unknown): void {
    this.logger.debug(String(message), { context });
  }
  error(message: unknown, trace?: unknown, context?: unknown): void {
    this.logger.error(String(message), { context, trace });
  }
  warn(message: unknown, context?: unknown): void {
    this.logger.warn(String(message), { context });
  }
  debug(message: unknown, context?: unknown): void {
    this.logger.debug(String(message), { context });
  }
  verbose(message: unknown, context?: unknown): void {
    this.logger.debug(String(message), { context });
  }
}
