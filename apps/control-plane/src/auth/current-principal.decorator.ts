import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Principal } from './principal.model';

/** The request property the auth guard writes the {@link Principal} to. */
export const PRINCIPAL_PROPERTY = 'portcullisPrincipal';

/** Injects the authenticated {@link Principal}; fails loudly if used on a `@Public()` route. */
export const CurrentPrincipal = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): Principal => {
    const req = ctx.switchToHttp().getRequest<Record<string, unknown>>();
    const principal = req[PRINCIPAL_PROPERTY] as Principal | undefined;
    if (!principal) throw new Error('@CurrentPrincipal() used on a route without authentication');
    return principal;
  },
);
