// Where a tenant's recorded samples go: -metrics-exporter.remote-write-url, or the tenant's entry
// in -metrics-exporter.remote-write-url-overrides ("acme=http://a/api/v1/push,globex=...").
//
// An empty default URL means "no target yet": those tenants' samples wait in the outbox. When
// the TSDB runs in the same process, serve passes a function instead: this process's own
// /api/v1/push, known once the server listens ('' until then).

export type UrlResolver = (tenant: string) => string | undefined;

function checkUrl(url: string, what: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${what}: ${JSON.stringify(url)} is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`${what}: ${JSON.stringify(url)} is not an http(s) URL`);
  return url;
}

/** Parses "tenant=url,tenant=url"; throws naming the bad entry. */
export function parseUrlOverrides(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split(',')) {
    const part = raw.trim();
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new Error(`entry ${JSON.stringify(part)} is not tenant=url`);
    const tenant = part.slice(0, eq).trim();
    if (out.has(tenant)) throw new Error(`tenant ${JSON.stringify(tenant)} is listed twice`);
    out.set(tenant, checkUrl(part.slice(eq + 1).trim(), `tenant ${JSON.stringify(tenant)}`));
  }
  return out;
}

export function urlResolver(defaultUrl: string | (() => string), overrides: ReadonlyMap<string, string>): UrlResolver {
  const fallback = typeof defaultUrl === 'function' ? defaultUrl : defaultUrl === '' ? () => '' : ((url) => () => url)(checkUrl(defaultUrl, 'remote-write URL'));
  return (tenant) => overrides.get(tenant) ?? (fallback() || undefined);
}
