import { Module, ValidationPipe } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import type { ValidationError } from 'class-validator';
import { AllExceptionsFilter } from './all-exceptions.filter';
import { InvalidRequestError } from './domain.error';

/**
 * Installs the global exception filter and the global validation pipe. DTOs with class-validator
 * decorators are validated and transformed; unknown properties are rejected (400 invalid_request).
 */
@Module({
  providers: [
    { provide: APP_FILTER, useClass: AllExceptionsFilter },
    {
      provide: APP_PIPE,
      useValue: new ValidationPipe({
        whitelist: true,
        forbidNonWhitelisted: true,
        transform: true,
        exceptionFactory: (errors: ValidationError[]) => new InvalidRequestError(describe(errors)),
      }),
    },
  ],
})
export class ErrorsModule {}

function describe(errors: ValidationError[], prefix = ''): string {
  const parts: string[] = [];
  for (const e of errors) {
    const path = prefix + e.property;
    if (e.constraints)
      parts.push(
        ...Object.values(e.constraints).map((m) =>
          m.startsWith(e.property) ? prefix + m : `${path}: ${m}`,
        ),
      );
    if (e.children?.length) parts.push(describe(e.children, `${path}.`));
  }
  return parts.join('; ') || 'invalid request';
}
