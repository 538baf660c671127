import { SetMetadata } from '@nestjs/common';
import type { Role } from './principal.model';

export const ROLES_KEY = 'portcullis:roles';

/**
 * The caller needs at least one of these roles (403 otherwise). On a method it replaces the
 * class-level list. A route without `@Roles` (and not `@Public`) needs an authenticated caller only.
 */
export const Roles = (...roles: [Role, ...Role[]]) => SetMetadata(ROLES_KEY, roles);
