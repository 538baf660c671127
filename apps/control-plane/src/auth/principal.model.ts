/** Roles the control plane knows. A token may carry others; they grant nothing here. */
export const ROLES = ['policy-admin', 'auditor', 'connection-admin'] as const;
export type Role = (typeof ROLES)[number];

/**
 * The authenticated caller of a request, set by the global auth guard: the token's `sub` and the
 * roles read from the configured claim (AUTH_ROLES_CLAIM). Never contains the token itself.
 */
export interface Principal {
  subject: string;
  roles: string[];
}

/** Roles from a claim that is either an array of strings or a space-separated string (OAuth `scope` style). */
export function rolesFromClaim(value: unknown): string[] {
  if (typeof value === 'string') return value.split(' ').filter((r) => r.length > 0);
  if (Array.isArray(value))
    return value.filter((r): r is string => typeof r === 'string' && r.length > 0);
  return [];
}
