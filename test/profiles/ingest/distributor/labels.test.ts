import { describe, expect, it } from 'vitest';
import { IngestError } from '../../../../src/profiles/ingest/errors.js';
import { type LabelLimits, getLabel, labelsString, normaliseLabels } from '../../../../src/profiles/ingest/labels.js';

const LIMITS: LabelLimits = { maxLabelNamesPerSeries: 30, maxLengthLabelName: 1024, maxLengthLabelValue: 2048 };

function rejected(input: [string, string][], limits = LIMITS): IngestError {
  let caught: unknown;
  try {
    normaliseLabels(input, limits);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(IngestError);
  const e = caught as IngestError;
  expect(e.status).toBe(400);
  return e;
}

describe('normaliseLabels', () => {
  it('sorts by name and keeps values as they are', () => {
    expect(
      normaliseLabels(
        [
          ['zone', 'eu-1'],
          ['service_name', 'checkout'],
          ['__name__', 'process_cpu'],
          ['a', 'x y {z}'],
        ],
        LIMITS,
      ),
    ).toEqual([
      ['__name__', 'process_cpu'],
      ['a', 'x y {z}'],
      ['service_name', 'checkout'],
      ['zone', 'eu-1'],
    ]);
  });

  it('sorts bytewise: upper case before underscore before lower case', () => {
    expect(
      normaliseLabels(
        [
          ['b', '1'],
          ['B', '2'],
          ['_x', '3'],
          ['service_name', 's'],
        ],
        LIMITS,
      ).map(([n]) => n),
    ).toEqual(['B', '_x', 'b', 'service_name']);
  });

  it('turns dots in names into underscores', () => {
    expect(
      normaliseLabels(
        [
          ['service.name', 'ignored-not'],
          ['otel.scope.name', 'com.grafana.pyroscope/nodejs'],
        ],
        LIMITS,
      ),
    ).toEqual([
      ['otel_scope_name', 'com.grafana.pyroscope/nodejs'],
      ['service_name', 'ignored-not'],
    ]);
  });

  it('drops empty values, then defaults service_name to unknown_service', () => {
    expect(
      normaliseLabels(
        [
          ['service_name', ''],
          ['region', ''],
          ['pod', 'p-1'],
        ],
        LIMITS,
      ),
    ).toEqual([
      ['pod', 'p-1'],
      ['service_name', 'unknown_service'],
    ]);
    expect(normaliseLabels([], LIMITS)).toEqual([['service_name', 'unknown_service']]);
  });

  it('rejects names that collide after sanitisation', () => {
    const e = rejected([
      ['service_name', 's'],
      ['a.b', '1'],
      ['a_b', '2'],
    ]);
    expect(e.message).toContain("has duplicate label name: 'a_b'");
    expect(e.message).toContain('(err-kiln-duplicate-label-names)');
  });

  it('rejects a plain duplicate name', () => {
    const e = rejected([
      ['service_name', 's'],
      ['k', '1'],
      ['k', '2'],
    ]);
    expect(e.message).toContain("duplicate label name: 'k'");
  });

  it('allows exactly max-label-names-per-series labels, service_name included', () => {
    const input: [string, string][] = [['service_name', 's']];
    for (let i = 0; i < 29; i++) input.push([`l${String(i).padStart(2, '0')}`, 'v']);
    expect(normaliseLabels(input, LIMITS)).toHaveLength(30);
  });

  it('31 labels: message, err-kiln id and the flag to change', () => {
    const input: [string, string][] = [['service_name', 's']];
    for (let i = 0; i < 30; i++) input.push([`l${String(i).padStart(2, '0')}`, 'v']);
    const e = rejected(input);
    expect(e.message).toMatch(/^profile series '\{l00="v", .*service_name="s"\}' has 31 label names; limit 30 /);
    expect(e.message).toContain('(err-kiln-max-label-names-per-series)');
    expect(e.message).toContain('configure -validation.max-label-names-per-series');
    expect(e.reason).toBe('max_label_names_per_series');
  });

  it('the default service_name counts against the limit', () => {
    const input: [string, string][] = [];
    for (let i = 0; i < 30; i++) input.push([`l${String(i).padStart(2, '0')}`, 'v']);
    expect(rejected(input).message).toContain('has 31 label names; limit 30');
  });

  it('label name length: at the limit passes, over it fails', () => {
    // 12 = the length of service_name, which every series has.
    const limits = { ...LIMITS, maxLengthLabelName: 12 };
    expect(normaliseLabels([['abcdefghijkl', 'v']], limits)[0]).toEqual(['abcdefghijkl', 'v']);
    const e = rejected([['abcdefghijklm', 'v']], limits);
    expect(e.message).toContain("has label name too long: 'abcdefghijklm'");
    expect(e.message).toContain('(err-kiln-label-name-too-long)');
    expect(e.message).toContain('configure -validation.max-length-label-name');
  });

  it('label value length: at the limit passes, over it fails', () => {
    const ok = 'v'.repeat(2048);
    expect(getLabel(normaliseLabels([['k', ok]], LIMITS), 'k')).toBe(ok);
    const e = rejected([['k', 'v'.repeat(2049)]]);
    expect(e.message).toContain('has label value too long');
    expect(e.message).toContain('(err-kiln-label-value-too-long)');
    expect(e.message).toContain('configure -validation.max-length-label-value');
  });

  it.each(['1abc', 'a-b', 'a b', 'ä', 'a/b', 'a{b'])('rejects the invalid label name %j', (name) => {
    const e = rejected([[name, 'v']]);
    expect(e.message).toContain(`invalid label name '${name}'`);
    expect(e.message).toContain('(err-kiln-label-invalid)');
  });

  it('rejects an invalid metric name in __name__', () => {
    const e = rejected([['__name__', 'process-cpu']]);
    expect(e.message).toContain('invalid metric name');
    expect(e.message).toContain('(err-kiln-metric-name-invalid)');
    expect(normaliseLabels([['__name__', 'ns:process_cpu']], LIMITS)[0]).toEqual(['__name__', 'ns:process_cpu']);
  });

  it('does not change its input', () => {
    const input: [string, string][] = [['b.c', '1'], ['a', '2']];
    normaliseLabels(input, LIMITS);
    expect(input).toEqual([['b.c', '1'], ['a', '2']]);
  });
});

describe('labelsString and getLabel', () => {
  it('prints label sets the way Pyroscope does', () => {
    expect(labelsString([['a', 'b'], ['c', 'd "q"']])).toBe('{a="b", c="d \\"q\\""}');
    expect(labelsString([])).toBe('{}');
  });

  it('getLabel finds a value or undefined', () => {
    expect(getLabel([['a', '1'], ['b', '2']], 'b')).toBe('2');
    expect(getLabel([['a', '1']], 'z')).toBeUndefined();
  });
});
