// Tenant resolution, as Mimir/Pyroscope (dskit) do it: the X-Scope-OrgID
// header when multitenancy is enabled, else the fixed no-auth tenant.

import { IngestError } from './errors.js';

const MAX_TENANT_LENGTH = 150;
const ALLOWED = /^[a-zA-Z0-9!\-_.*'()]$/;

/** Returns an error message, or undefined for a valid tenant id (dskit's rules). */
export function tenantIdError(id: string): string | undefined {
  if (id.length > MAX_TENANT_LENGTH) return `tenant ID is too long: max ${MAX_TENANT_LENGTH} characters`;
  if (id === '.' || id === '..') return "tenant ID is '.' or '..'";
  for (const ch of id) if (!ALLOWED.test(ch)) return `tenant ID '${id}' contains unsupported character '${ch}'`;
  return undefined;
}

export interface TenancyOptions {
  multitenancyEnabled: boolean;
  noAuthTenant: string;
}

/** The tenant of a request; throws IngestError 401 `no org id` or 400 for a bad id. */
export function resolveTenant(header: string | null | undefined, opts: TenancyOptions): string {
  if (!opts.multitenancyEnabled) return opts.noAuthTenant;
  if (header === undefined || header === null || header === '') throw new IngestError(401, 'no org id', 'missing_tenant');
  // Federated ids (a|b) are for reads only; a push belongs to exactly one tenant.
  if (header.includes('|')) throw new IngestError(400, 'multiple org IDs present', 'invalid_tenant');
  const err = tenantIdError(header);
  if (err) throw new IngestError(400, err, 'invalid_tenant');
  return header;
}
