import { describe, it, expect } from 'vitest';
import { formatDuration, parseDuration } from '../../../src/tsdb/promql/duration.js';

describe('parseDuration', () => {
  it.each([
    ['0', 0],
    ['0s', 0],
    ['100ms', 100],
    ['15s', 15_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['2d', 172_800_000],
    ['1w', 604_800_000],
    ['1y', 31_536_000_000],
    ['1y2w3d4h5m6s7ms', 31_536_000_000 + 2 * 604_800_000 + 3 * 86_400_000 + 4 * 3_600_000 + 5 * 60_000 + 6000 + 7],
    ['90m', 5_400_000],
    ['1000ms', 1000],
  ])('%s = %d ms', (s, ms) => {
    expect(parseDuration(s)).toBe(ms);
  });

  it.each([
    ['', 'empty duration string'],
    ['5', 'not a valid duration string: "5"'],
    ['m', 'not a valid duration string: "m"'],
    ['1m1h', 'not a valid duration string: "1m1h"'],
    ['1m1m', 'not a valid duration string: "1m1m"'],
    ['1.5h', 'unknown unit "." in duration "1.5h"'], // Go reads the unit up to the next digit
    ['-5m', 'not a valid duration string: "-5m"'],
    ['5x', 'unknown unit "x" in duration "5x"'],
    ['5M', 'unknown unit "M" in duration "5M"'],
    [' 5m', 'not a valid duration string: " 5m"'],
    ['300y', 'duration out of range'],
    ['99999999999999999999999s', 'not a valid duration string'],
  ])('rejects %j', (s, message) => {
    expect(() => parseDuration(s)).toThrow(message);
  });

  it('accepts the largest duration Prometheus can hold and refuses one more unit', () => {
    expect(parseDuration('292y')).toBe(292 * 31_536_000_000);
    expect(() => parseDuration('293y')).toThrow('duration out of range');
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [100, '100ms'],
    [1000, '1s'],
    [1500, '1s500ms'],
    [300_000, '5m'],
    [5_400_000, '1h30m'],
    [86_400_000, '1d'],
    [604_800_000, '1w'],
    [90 * 86_400_000, '90d'], // not 12w6d: weeks only when exact
    [14 * 86_400_000, '2w'],
    [31_536_000_000, '1y'],
    [31_536_000_000 + 86_400_000, '366d'],
    [-300_000, '-5m'],
  ])('%d ms = %s', (ms, s) => {
    expect(formatDuration(ms)).toBe(s);
  });

  it('round-trips through parseDuration', () => {
    for (const ms of [1, 999, 61_000, 3_600_001, 7 * 86_400_000 + 1, 123_456_789_012]) {
      expect(parseDuration(formatDuration(ms))).toBe(ms);
    }
  });
});
