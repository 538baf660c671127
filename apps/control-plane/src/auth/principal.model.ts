import { SetMetadata } from '@nestjs/common';

/** Roles the control plane knows. A token may carry others; they grant nothing here. */
export const ROLES = ['policy-admin', 'auditor', 'connection-admin', 'approver'] as const;
export type Role = (typeof ROLES)[number];

/**
 * The authenticated caller of a request, set by the global auth guard: the token's `sub` and the
 * roles read from the configured claim (AUTH_ROLES_CLAIM). Never contains the token itself.
 * `issuer` and `groups` (APPROVER_GROUPS_CLAIM) are set when the guard builds the principal with
 * {@link principalFromIdentity}; absent means unknown, which matches no `group:` approver.
 */
export interface Principal {
  subject: string;
  roles: string[];
  issuer?: string;
  groups?: string[];
}

/** Roles from a claim that is either an array of strings or a space-separated string (OAuth `scope` style). */
export function rolesFromClaim(value: unknown): string[] {
  if (typeof value === 'string') return value.split(' ').filter((r) => r.length > 0);
  if (Array.isArray(value))
    return value.filter((r): r is string => typeof r === 'string' && r.length > 0);
  return [];
}

/** The claim names a principal is read from (the `auth` section of the config). */
export interface PrincipalClaims {
  rolesClaim: string;
  groupsClaim: string;
}

/** The principal of a verified token: subject, issuer, roles and groups from their claims. */
export function principalFromIdentity(
  identity: { subject: string; issuer: string; claims: Record<string, unknown> },
  claims: PrincipalClaims,
): Principal {
  return {
    subject: identity.subject,
    issuer: identity.issuer,
    roles: rolesFromClaim(identity.claims[claims.rolesClaim]),
    // Same shapes as roles: IdPs emit groups as an array, some as a space-separated string.
    groups: rolesFromClaim(identity.claims[claims.groupsClaim]),
  };
}

export const ANY_AUTHENTICATED_KEY = 'portcullis:any-authenticated';

/**
 * Any verified token may call the route, whatever its roles; the route then decides from the
 * principal itself (e.g. "only the requester may read this status"). Needs the auth guard to
 * honour {@link ANY_AUTHENTICATED_KEY}; until it does, the route stays closed (fail closed).
 */
export const AnyAuthenticated = () => SetMetadata(ANY_AUTHENTICATED_KEY, true);
