// The tenant of a TSDB request: Kiln's usual rules (X-Scope-OrgID with multitenancy, else the
// no-auth tenant; profiles/ingest/tenant.ts), plus, when enabled, the basic-auth username.
// The latter exists for senders that cannot set headers — Debian's Prometheus 2.42 drops
// `headers:` from remote_write but does send basic_auth (spec/tsdb.md §7). The password is not
// checked: like Mimir, Kiln leaves authentication to a proxy in front of it.

import type http from 'node:http';
import type http2 from 'node:http2';
import { IngestError } from '../../profiles/ingest/errors.js';
import { type TenancyOptions, resolveTenant, tenantIdError } from '../../profiles/ingest/tenant.js';

type Req = http.IncomingMessage | http2.Http2ServerRequest;

export type TenantResolver = (req: Req) => string;

/** The username of an `Authorization: Basic …` header, or undefined. */
export function basicAuthUsername(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*basic\s+(\S+)\s*$/i.exec(header);
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = colon < 0 ? decoded : decoded.slice(0, colon);
  return user === '' ? undefined : user;
}

export function tenantResolver(tenancy: TenancyOptions, fromBasicAuth: boolean): TenantResolver {
  return (req) => {
    const raw = req.headers['x-scope-orgid'];
    const header = Array.isArray(raw) ? raw[0] : raw;
    if (fromBasicAuth && (header === undefined || header === '')) {
      const user = basicAuthUsername(req.headers.authorization);
      if (user !== undefined) {
        const err = tenantIdError(user);
        if (err) throw new IngestError(400, err, 'invalid_tenant');
        return user;
      }
    }
    return resolveTenant(header, tenancy);
  };
}
