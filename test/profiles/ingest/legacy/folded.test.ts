import { describe, expect, it } from 'vitest';
import { IngestError } from '../../../../src/profiles/ingest/errors.js';
import { legacyProfileType, parseFolded } from '../../../../src/profiles/ingest/folded.js';
import { decodePprof } from '../../../../src/profiles/pprof/decode.js';
import { encodePprof } from '../../../../src/profiles/pprof/encode.js';
import { plain } from './helpers.js';

const CPU = legacyProfileType('app');

function badLine(text: string, fragment: string): void {
  let caught: unknown;
  try {
    parseFolded(text, { type: CPU, sampleRate: 100 });
  } catch (err) {
    caught = err;
  }
  expect(caught, text).toBeInstanceOf(IngestError);
  expect((caught as IngestError).status).toBe(400);
  expect((caught as IngestError).reason).toBe('malformed_profile');
  expect((caught as IngestError).message).toContain(fragment);
}

describe('legacyProfileType', () => {
  it('maps a name without a dot to cpu, keeping the whole name as service', () => {
    expect(legacyProfileType('eco-test-app')).toEqual({
      serviceName: 'eco-test-app',
      suffix: 'cpu',
      metricName: 'process_cpu',
      sampleType: 'cpu',
      sampleUnit: 'nanoseconds',
      scaleBySampleRate: true,
    });
  });

  it('strips the suffix from the service name', () => {
    expect(legacyProfileType('my.app.cpu').serviceName).toBe('my.app');
    expect(legacyProfileType('my.app.alloc_space').serviceName).toBe('my.app');
  });

  it('follows the suffix table', () => {
    const row = (n: string): string => {
      const t = legacyProfileType(`svc.${n}`);
      return `${t.metricName} ${t.sampleType}:${t.sampleUnit}${t.scaleBySampleRate ? ' scaled' : ''}`;
    };
    expect(row('cpu')).toBe('process_cpu cpu:nanoseconds scaled');
    expect(row('itimer')).toBe('process_cpu cpu:nanoseconds scaled');
    expect(row('wall')).toBe('wall wall:nanoseconds scaled');
    expect(row('seconds')).toBe('wall wall:nanoseconds scaled');
    expect(row('inuse_objects')).toBe('memory inuse_objects:count');
    expect(row('inuse_space')).toBe('memory inuse_space:bytes');
    expect(row('alloc_objects')).toBe('memory alloc_objects:count');
    expect(row('alloc_space')).toBe('memory alloc_space:bytes');
    expect(row('goroutines')).toBe('goroutine goroutines:count');
    expect(row('mutex_count')).toBe('mutex contentions:count');
    expect(row('mutex_duration')).toBe('mutex delay:nanoseconds');
    expect(row('block_count')).toBe('block contentions:count');
    expect(row('block_duration')).toBe('block delay:nanoseconds');
    expect(row('lock_duration')).toBe('block delay:nanoseconds');
    expect(row('bytes')).toBe('memory samples:bytes');
    expect(row('exceptions')).toBe('exceptions samples:count');
  });

  it('rejects an unknown suffix with Pyroscope\'s message', () => {
    expect(() => legacyProfileType('my.service')).toThrow('unknown profile type: service');
    try {
      legacyProfileType('app.heap');
    } catch (err) {
      expect((err as IngestError).status).toBe(400);
    }
    expect.assertions(2);
  });
});

describe('parseFolded', () => {
  it('scales cpu counts by 1e9/sampleRate: at 100 Hz each count is 10,000,000 ns', () => {
    const p = plain(parseFolded('main;work;leaf 3\nmain;idle 1\n', { type: CPU, sampleRate: 100, timeNanos: 5n, durationNanos: 7n }));
    expect(p).toEqual({
      sampleTypes: ['cpu:nanoseconds'],
      periodType: 'cpu:nanoseconds',
      period: 10_000_000,
      timeNanos: 5n,
      durationNanos: 7n,
      samples: [
        ['main;work;leaf', [30_000_000]],
        ['main;idle', [10_000_000]],
      ],
    });
  });

  it('truncates the period as an integer (sampleRate 17 → 58823529 ns)', () => {
    const p = plain(parseFolded('a 2', { type: CPU, sampleRate: 17 }));
    expect(p.period).toBe(58_823_529);
    expect(p.samples).toEqual([['a', [117_647_058]]]);
  });

  it('keeps counts as they are for memory types, with no period', () => {
    const p = plain(parseFolded('a;b 512\n', { type: legacyProfileType('svc.inuse_space'), sampleRate: 100 }));
    expect(p.sampleTypes).toEqual(['inuse_space:bytes']);
    expect(p.periodType).toBe(':');
    expect(p.period).toBe(0);
    expect(p.samples).toEqual([['a;b', [512]]]);
  });

  it('splits on the last space so frames may contain spaces; CRLF, blank lines and padding are fine', () => {
    const text = '\r\n  main;Foo::bar(int, char) 4\r\n\r\nmain;lambda at x.cc:1 2  \n\n';
    const p = plain(parseFolded(text, { type: legacyProfileType('x.goroutines'), sampleRate: 100 }));
    expect(p.samples).toEqual([
      ['main;Foo::bar(int, char)', [4]],
      ['main;lambda at x.cc:1', [2]],
    ]);
  });

  it('sums identical stacks and drops zero counts', () => {
    const p = plain(parseFolded('a;b 1\nc 0\na;b 2\n', { type: legacyProfileType('x.alloc_objects'), sampleRate: 100 }));
    expect(p.samples).toEqual([['a;b', [3]]]);
  });

  it('gives an empty profile for an empty body', () => {
    expect(plain(parseFolded('', { type: CPU, sampleRate: 100 })).samples).toEqual([]);
  });

  it('reads bytes as UTF-8', () => {
    const p = plain(parseFolded(new TextEncoder().encode('größe;ä 1'), { type: legacyProfileType('x.inuse_objects'), sampleRate: 100 }));
    expect(p.samples).toEqual([['größe;ä', [1]]]);
  });

  it('produces a profile that encodes to pprof and decodes back', () => {
    const p = decodePprof(encodePprof(parseFolded('main;a 1\nmain;b 2', { type: CPU, sampleRate: 100 })));
    expect(plain(p).samples).toEqual([
      ['main;a', [10_000_000]],
      ['main;b', [20_000_000]],
    ]);
  });

  it('rejects bad lines naming the line number', () => {
    badLine('a 1\nnocount', 'line 2 "nocount": expected \'<stack> <count>\'');
    badLine('a 1\n\na -1', 'line 3 "a -1": count "-1" is not a non-negative integer');
    badLine('a 1.5', 'line 1 "a 1.5": count "1.5" is not a non-negative integer');
    badLine('a 1e3', 'count "1e3"');
    badLine('a x', 'count "x"');
    badLine('a 99999999999999999999', 'count is too large');
    badLine('; 1', 'empty frame name');
    badLine('a;;b 1', 'empty frame name');
    badLine('a; 1', 'empty frame name');
  });

  it('rejects values that overflow exact integers after scaling or summing', () => {
    // 2^53 / 1e7 ≈ 9.007e8: a count of 1e9 at 100 Hz is past exact float64 integers.
    badLine('a 1000000000', 'scaled value is too large');
    expect(() =>
      parseFolded('a 9007199254740991\na 1', { type: legacyProfileType('x.inuse_objects'), sampleRate: 100 }),
    ).toThrow('line 2 "a 1": summed value is too large');
  });
});
