import type { IncomingMessage } from 'node:http';
import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthenticationError, TokenVerifier } from '@portcullis/identity';
import { CONTROL_PLANE_CONFIG, type ControlPlaneConfig } from '../config/control-plane.config';
import { ForbiddenError, UnauthenticatedError } from '../errors/domain.error';
import { PRINCIPAL_PROPERTY } from './current-principal.decorator';
import {
  ANY_AUTHENTICATED_KEY,
  principalFromIdentity,
  type Principal,
  type Role,
} from './principal.model';
import { IS_PUBLIC_KEY } from './public.decorator';
import { ROLES_KEY } from './roles.decorator';

/**
 * Global guard: every route needs a verified bearer token unless marked `@Public()`, and a
 * caller holding one of the roles its `@Roles()` names; a route naming none is closed. 401 for a
 * missing or invalid token, 403 for a valid token without the role.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly verifier: TokenVerifier,
    @Inject(CONTROL_PLANE_CONFIG) private readonly config: ControlPlaneConfig,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC_KEY, targets)) return true;
    const req = ctx.switchToHttp().getRequest<IncomingMessage & Record<string, unknown>>();
    const principal = await this.authenticate(req.headers.authorization);
    req[PRINCIPAL_PROPERTY] = principal;
    // A route that reads the principal itself (e.g. "only the requester") admits any verified token.
    if (this.reflector.getAllAndOverride<boolean | undefined>(ANY_AUTHENTICATED_KEY, targets))
      return true;
    const required = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, targets);
    // Fail closed: a route that forgot to declare @Roles (or @Public) is open to nobody, not to
    // every holder of a token from the issuer.
    if (!required || required.length === 0) {
      throw new ForbiddenError('this operation declares no role that may call it');
    }
    if (!required.some((r) => principal.roles.includes(r))) {
      throw new ForbiddenError(`this operation requires the role ${required.join(' or ')}`);
    }
    return true;
  }

  private async authenticate(header: string | undefined): Promise<Principal> {
    try {
      const identity = await this.verifier.verify(TokenVerifier.bearer(header));
      return principalFromIdentity(identity, this.config.auth);
    } catch (err) {
      if (err instanceof AuthenticationError) throw new UnauthenticatedError(err.code, err.message);
      throw err;
    }
  }
}
