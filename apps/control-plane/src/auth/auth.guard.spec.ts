import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { TokenVerifier, VerifiedIdentity } from '@portcullis/identity';
import type { ControlPlaneConfig } from '../config/control-plane.config';
import { ForbiddenError } from '../errors/domain.error';
import { AuthGuard } from './auth.guard';
import { Public } from './public.decorator';
import { Roles } from './roles.decorator';

class Routes {
  @Roles('auditor')
  audited(this: void): void {}
  undeclared(this: void): void {}
  @Public()
  open(this: void): void {}
}

function context(handler: () => void, authorization?: string): ExecutionContext {
  const req = { headers: { authorization } };
  return {
    getHandler: () => handler,
    getClass: () => Routes,
    switchToHttp: () => ({ getRequest: () => req }),
  } as unknown as ExecutionContext;
}

function guard(roles: string[], verified: { count: number } = { count: 0 }): AuthGuard {
  const verifier = {
    verify: async (): Promise<VerifiedIdentity> => {
      verified.count++;
      return {
        subject: 'alice',
        issuer: 'http://iss',
        audience: ['portcullis-control-plane'],
        claims: { portcullis_roles: roles },
        expiresAt: new Date(Date.now() + 60_000),
      };
    },
  } as unknown as TokenVerifier;
  const config = { auth: { rolesClaim: 'portcullis_roles' } } as unknown as ControlPlaneConfig;
  return new AuthGuard(new Reflector(), verifier, config);
}

describe('AuthGuard', () => {
  const proto = Routes.prototype;

  it('a route that declares no role is closed even to a valid token holding every role', async () => {
    await assert.rejects(
      guard(['auditor', 'policy-admin']).canActivate(context(proto.undeclared, 'Bearer a.b.c')),
      ForbiddenError,
    );
  });

  it('a caller with the declared role passes; one without it is forbidden', async () => {
    assert.equal(
      await guard(['auditor']).canActivate(context(proto.audited, 'Bearer a.b.c')),
      true,
    );
    await assert.rejects(
      guard(['policy-admin']).canActivate(context(proto.audited, 'Bearer a.b.c')),
      ForbiddenError,
    );
  });

  it('a public route needs no token and verifies none', async () => {
    const verified = { count: 0 };
    assert.equal(await guard([], verified).canActivate(context(proto.open)), true);
    assert.equal(verified.count, 0);
  });
});
