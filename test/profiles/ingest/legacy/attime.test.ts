import { describe, expect, it } from 'vitest';
import { parseAttime } from '../../../../src/profiles/ingest/attime.js';
import { IngestError } from '../../../../src/profiles/ingest/errors.js';

// A fixed "now": 2026-11-21T12:00:00.000Z.
const NOW = new Date(Date.UTC(2026, 10, 21, 12, 0, 0));
const iso = (v: string | null): string => parseAttime(v, NOW).toISOString();

describe('parseAttime', () => {
  it('maps missing, empty and "now" to now', () => {
    expect(iso(null)).toBe('2026-11-21T12:00:00.000Z');
    expect(iso('')).toBe('2026-11-21T12:00:00.000Z');
    expect(iso('  ')).toBe('2026-11-21T12:00:00.000Z');
    expect(iso('now')).toBe('2026-11-21T12:00:00.000Z');
  });

  it('returns a new Date, not the caller\'s now', () => {
    expect(parseAttime(null, NOW)).not.toBe(NOW);
  });

  it('reads unix seconds, as @pyroscope/nodejs sends them', () => {
    expect(iso('1795253221')).toBe('2026-11-21T09:27:01.000Z');
    expect(iso('0')).toBe('1970-01-01T00:00:00.000Z');
    expect(iso('1_795_253_221')).toBe('2026-11-21T09:27:01.000Z');
  });

  it('reads 13/16/19 digits as milli/micro/nanoseconds (by digit count, as Pyroscope)', () => {
    expect(iso('1795253221123')).toBe('2026-11-21T09:27:01.123Z');
    expect(iso('1795253221123456')).toBe('2026-11-21T09:27:01.123Z');
    expect(iso('1795253221123456789')).toBe('2026-11-21T09:27:01.123Z');
    // 12 digits is seconds, not milliseconds: year 5138.
    expect(iso('100000000000')).toBe('5138-11-16T09:46:40.000Z');
  });

  it('reads 8 digits that form a date after 1900 as YYYYMMDD', () => {
    expect(iso('20240102')).toBe('2024-01-02T00:00:00.000Z');
    // Not a date (month 13): seconds.
    expect(iso('20241302')).toBe('1970-08-23T06:35:02.000Z');
    // Year 1234 is not > 1900: seconds.
    expect(iso('12340101')).toBe('1970-05-23T19:48:21.000Z');
  });

  it('reads relative forms', () => {
    expect(iso('now-1h')).toBe('2026-11-21T11:00:00.000Z');
    expect(iso('now-30m')).toBe('2026-11-21T11:30:00.000Z');
    expect(iso('now-10s')).toBe('2026-11-21T11:59:50.000Z');
    expect(iso('now+5min')).toBe('2026-11-21T12:05:00.000Z');
    expect(iso('-1h30m')).toBe('2026-11-21T10:30:00.000Z');
    expect(iso('now-1d')).toBe('2026-11-20T12:00:00.000Z');
    expect(iso('now-1w')).toBe('2026-11-14T12:00:00.000Z');
    expect(iso('now-1M')).toBe('2026-10-22T12:00:00.000Z');
    expect(iso('now-2hours')).toBe('2026-11-21T10:00:00.000Z');
  });

  it('reads RFC 3339', () => {
    expect(iso('2024-01-02T03:04:05Z')).toBe('2024-01-02T03:04:05.000Z');
    expect(iso('2024-01-02T03:04:05.123456789Z')).toBe('2024-01-02T03:04:05.123Z');
    expect(iso('2024-01-02T03:04:05.5+02:00')).toBe('2024-01-02T01:04:05.500Z');
    expect(iso('2024-01-02t03:04:05z')).toBe('2024-01-02T03:04:05.000Z');
  });

  it('rejects garbage with a 400 naming the parameter', () => {
    for (const bad of ['yesterday', 'now-', 'now-1', 'now-1x', 'now*2', '1.5', '-5', '12345678901234567890', '2024-02-30T00:00:00Z', '2024-01-02T25:00:00Z', '2024-01-02', 'now-1h-', ',,']) {
      let caught: unknown;
      try {
        parseAttime(bad, NOW, 'from');
      } catch (err) {
        caught = err;
      }
      expect(caught, bad).toBeInstanceOf(IngestError);
      expect((caught as IngestError).status).toBe(400);
      expect((caught as IngestError).message).toMatch(/^invalid from parameter /);
    }
  });

  it('uses "from/until" in the message by default', () => {
    expect(() => parseAttime('garbage', NOW)).toThrow(/^invalid from\/until parameter "garbage"/);
  });

  it('rejects times a Date cannot hold', () => {
    expect(() => parseAttime('999999999999999999', NOW)).toThrow(/time out of range/);
  });
});
