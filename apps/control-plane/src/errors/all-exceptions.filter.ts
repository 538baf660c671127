import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { Catch, HttpException, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { Logger, errorMessage, redactUrl } from '@portcullis/platform';
import { DatabaseErrorClassifier } from '../database/database-error.classifier';
import { DomainError } from './domain.error';
import { ErrorCode } from './error-code';
import { httpStatusOf, toHttpError, type HttpErrorResponse } from './http-error.mapper';

/**
 * The single exit for every error of the HTTP API. Domain errors map through the exhaustive
 * switch; framework errors (unknown route, body-parser limits) keep their status with a stable
 * code; anything else is a 500 with a correlation id, logged once here and nowhere else.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  constructor(private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<ServerResponse>();
    const out = this.toResponse(
      exception,
      host.switchToHttp().getRequest<{ method?: string; url?: string }>(),
    );
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.statusCode = out.status;
    for (const [k, v] of Object.entries(out.headers)) res.setHeader(k, v);
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.end(JSON.stringify(out.body));
  }

  private toResponse(
    exception: unknown,
    req: { method?: string; url?: string },
  ): HttpErrorResponse {
    if (exception instanceof DomainError) return toHttpError(exception);
    const framework = frameworkError(exception);
    if (framework) return framework;
    const correlationId = randomUUID();
    const logged = {
      correlation_id: correlationId,
      method: req.method,
      // The path only: query strings may carry things that do not belong in logs.
      path: req.url?.split('?')[0],
      // An unknown error may quote a connection string (a driver echoing DATABASE_URL, say).
      error: redactUrl(errorMessage(exception)),
    };
    if (DatabaseErrorClassifier.isUnavailable(exception)) {
      // A locked, read-only or unreachable database is an outage, not a defect: 503 so clients
      // retry, still logged once with the id so an operator can find the cause.
      this.logger.warn('database unavailable', logged);
      return {
        status: 503,
        headers: { 'retry-after': '1' },
        body: {
          error: {
            code: 'unavailable',
            message: 'the database cannot serve this request now; retry',
            correlation_id: correlationId,
          },
        },
      };
    }
    this.logger.error('unhandled error', {
      ...logged,
      stack: exception instanceof Error ? redactUrl(exception.stack ?? '') : undefined,
    });
    return {
      status: 500,
      headers: {},
      body: {
        error: { code: 'internal', message: 'internal error', correlation_id: correlationId },
      },
    };
  }
}

const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: ErrorCode.InvalidRequest,
  401: ErrorCode.Unauthenticated,
  403: ErrorCode.Forbidden,
  404: ErrorCode.NotFound,
  409: ErrorCode.Conflict,
  413: ErrorCode.PayloadTooLarge,
  415: ErrorCode.InvalidRequest,
};

/** Nest's HttpExceptions and body-parser's errors (which carry `status` and `expose`). */
function frameworkError(exception: unknown): HttpErrorResponse | null {
  let status: number;
  let message: string;
  if (exception instanceof HttpException) {
    status = exception.getStatus();
    message = exception.message;
  } else {
    const e = exception as { status?: unknown; expose?: unknown; message?: unknown } | null;
    if (!e || typeof e.status !== 'number' || e.expose !== true || typeof e.message !== 'string')
      return null;
    status = e.status;
    message = e.message;
  }
  if (status >= 500) return null;
  const code = CODE_BY_STATUS[status] ?? ErrorCode.InvalidRequest;
  return {
    status: CODE_BY_STATUS[status] ? httpStatusOf(code) : status,
    headers: {},
    body: { error: { code, message } },
  };
}
