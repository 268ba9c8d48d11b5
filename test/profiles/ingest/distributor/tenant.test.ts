import { describe, expect, it } from 'vitest';
import { IngestError } from '../../../../src/profiles/ingest/errors.js';
import { resolveTenant, tenantIdError } from '../../../../src/profiles/ingest/tenant.js';

const ON = { multitenancyEnabled: true, noAuthTenant: 'anonymous' };
const OFF = { multitenancyEnabled: false, noAuthTenant: 'anonymous' };

function rejected(header: string | null | undefined): IngestError {
  let caught: unknown;
  try {
    resolveTenant(header, ON);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(IngestError);
  return caught as IngestError;
}

describe('tenantIdError (Mimir / dskit rules)', () => {
  it.each([
    'a',
    'tenant-1',
    'Team_A',
    'org.example',
    "it's(fine)*!",
    '...',
    '.a',
    'a..b',
    '0123456789',
    'x'.repeat(150),
  ])('accepts %j', (id) => {
    expect(tenantIdError(id)).toBeUndefined();
  });

  it('rejects ids longer than 150 characters', () => {
    expect(tenantIdError('x'.repeat(151))).toBe('tenant ID is too long: max 150 characters');
  });

  it("rejects '.' and '..' (path traversal)", () => {
    expect(tenantIdError('.')).toBe("tenant ID is '.' or '..'");
    expect(tenantIdError('..')).toBe("tenant ID is '.' or '..'");
  });

  it.each([
    ['a/b', '/'],
    ['a b', ' '],
    ['a:b', ':'],
    ['a|b', '|'],
    ['a\\b', '\\'],
    ['a%2F', '%'],
    ['tenant\n', '\n'],
    ['ténant', 'é'],
    ['a#b', '#'],
    ['a+b', '+'],
    ['a=b', '='],
    ['a@b', '@'],
  ])('rejects %j (unsupported character %j)', (id, ch) => {
    expect(tenantIdError(id)).toBe(`tenant ID '${id}' contains unsupported character '${ch}'`);
  });
});

describe('resolveTenant', () => {
  it('multitenancy off: every request is the no-auth tenant, whatever the header says', () => {
    expect(resolveTenant(undefined, OFF)).toBe('anonymous');
    expect(resolveTenant('team-a', OFF)).toBe('anonymous');
    expect(resolveTenant('bad/id', OFF)).toBe('anonymous');
    expect(resolveTenant(undefined, { multitenancyEnabled: false, noAuthTenant: 'fake' })).toBe('fake');
  });

  it('multitenancy on: the header is the tenant', () => {
    expect(resolveTenant('team-a', ON)).toBe('team-a');
    expect(resolveTenant('x'.repeat(150), ON)).toBe('x'.repeat(150));
  });

  it('multitenancy on: a missing or empty header is 401 "no org id"', () => {
    for (const h of [undefined, null, '']) {
      const e = rejected(h);
      expect(e.status).toBe(401);
      expect(e.message).toBe('no org id');
    }
  });

  it('multitenancy on: an invalid id is 400 with the reason', () => {
    const slash = rejected('bad/tenant');
    expect(slash.status).toBe(400);
    expect(slash.message).toBe("tenant ID 'bad/tenant' contains unsupported character '/'");
    const dots = rejected('..');
    expect(dots.status).toBe(400);
    expect(dots.message).toBe("tenant ID is '.' or '..'");
    const long = rejected('y'.repeat(151));
    expect(long.status).toBe(400);
    expect(long.message).toContain('too long');
  });

  it('multitenancy on: a federated id (a|b) is refused for a push', () => {
    const e = rejected('team-a|team-b');
    expect(e.status).toBe(400);
    expect(e.message).toBe('multiple org IDs present');
  });
});
