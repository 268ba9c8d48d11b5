import { createHash } from 'node:crypto';

import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';

import { RecordingRuleSchema, UpsertRecordingRuleRequestSchema, type UpsertRecordingRuleRequest } from '../../../src/gen/settings/v1/recording_rules_pb.js';
import { compileRule } from '../../../src/profiles/rules/compiled.js';
import { deterministicRuleId, generateRuleId, InvalidRuleError, profileTypeOf, validateUpsert } from '../../../src/profiles/rules/validate.js';

const CPU = '{__profile_type__="process_cpu:cpu:nanoseconds:cpu:nanoseconds"}';

/** A valid request, with fields overridden. */
function req(fields: Record<string, unknown> = {}): UpsertRecordingRuleRequest {
  return create(UpsertRecordingRuleRequestSchema, {
    metricName: 'profiles_recorded_cpu',
    matchers: [CPU],
    groupBy: ['service_name'],
    ...fields,
  } as never);
}

/** The problems validateUpsert reports for a request, [] if valid. */
function problems(r: UpsertRecordingRuleRequest): readonly string[] {
  try {
    validateUpsert(r);
    return [];
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidRuleError);
    expect((err as Error).message).toBe(`invalid request: ${(err as InvalidRuleError).problems.join('; ')}`);
    return (err as InvalidRuleError).problems;
  }
}

describe('validateUpsert', () => {
  it('accepts a valid rule', () => {
    expect(problems(req())).toEqual([]);
    expect(problems(req({ id: 'abcXYZ', generation: 3n, externalLabels: [{ name: 'team', value: 'é😀' }] }))).toEqual([]);
  });

  const cases: Array<[string, Record<string, unknown>, Record<string, unknown>, RegExp]> = [
    ['id letters only', { id: 'abc' }, { id: 'abc1' }, /id "abc1" must contain only letters/],
    ['id length', { id: 'a'.repeat(64) }, { id: 'a'.repeat(65) }, /id is longer than 64/],
    ['metric_name required', { metricName: ' profiles_recorded_x ' }, { metricName: '  ' }, /metric_name is required/],
    ['metric_name legacy', { metricName: 'profiles_recorded_a:b' }, { metricName: 'profiles_recorded_a.b' }, /must match/],
    ['metric_name prefix', { metricName: 'profiles_recorded_x' }, { metricName: 'cpu_total' }, /must start with profiles_recorded_/],
    ['metric_name length', { metricName: `profiles_recorded_${'x'.repeat(1000)}` }, { metricName: `profiles_recorded_${'x'.repeat(1010)}` }, /longer than 1024/],
    ['matchers parse', { matchers: [CPU, 'foo{a="b"}'] }, { matchers: [CPU, 'a + b'] }, /matchers\[1\] is invalid: .*binary expression/],
    ['matchers not blank', { matchers: [CPU, '{}'] }, { matchers: [CPU, ''] }, /matchers\[1\] is empty/],
    ['a profile type', { matchers: ['{__profile_type__="a:b:c:d:e"}'] }, { matchers: ['{a="b"}'] }, /must select a profile type/],
    ['one profile type', { matchers: [CPU, '{a="b"}'] }, { matchers: [CPU, CPU] }, /exactly one __profile_type__ matcher, found 2/],
    ['profile type is =', { matchers: [CPU] }, { matchers: ['{__profile_type__=~"process_cpu.*"}'] }, /must be an equality \(=\), not =~/],
    ['group_by legacy', { groupBy: ['_a1'] }, { groupBy: ['a.b'] }, /group_by\[0\] "a.b" is not a valid label name/],
    ['group_by twice', { groupBy: ['a', 'b'] }, { groupBy: ['a', 'a'] }, /group_by\[1\] "a" is listed twice/],
    ['group_by reserved', { groupBy: ['__profile_type__'] }, { groupBy: ['profiles_rule_id'] }, /is set by Kiln/],
    ['external label name', { externalLabels: [{ name: 'a_b', value: '' }] }, { externalLabels: [{ name: '1a', value: 'x' }] }, /external_labels\[0\] name "1a" is not a valid label name/],
    ['external label UTF-8', { externalLabels: [{ name: 'a', value: '\uD83D\uDE00' }] }, { externalLabels: [{ name: 'a', value: 'x\uD800' }] }, /external_labels\[0\] value is not valid UTF-8/],
    ['external label twice', { externalLabels: [{ name: 'a', value: '1' }, { name: 'b', value: '1' }] }, { externalLabels: [{ name: 'a', value: '1' }, { name: 'a', value: '2' }] }, /listed twice/],
    ['external label vs group_by', { externalLabels: [{ name: 'team', value: '1' }] }, { externalLabels: [{ name: 'service_name', value: '1' }] }, /also a group_by label/],
    ['generation', { generation: 0n }, { generation: -1n }, /generation must be positive/],
    ['function name', { stacktraceFilter: { functionName: { functionName: 'main.f' } } }, { stacktraceFilter: { functionName: { functionName: '' } } }, /function_name is required/],
    ['metric type', { stacktraceFilter: { functionName: { functionName: 'f', metricType: 0 } } }, { stacktraceFilter: { functionName: { functionName: 'f', metricType: 7 } } }, /metric_type must be TOTAL/],
    ['too many matchers', { matchers: [CPU, ...Array(99).fill('{a="b"}')] }, { matchers: [CPU, ...Array(100).fill('{a="b"}')] }, /matchers has 101 entries, at most 100/],
  ];
  for (const [name, good, bad, message] of cases) {
    it(`checks ${name}`, () => {
      expect(problems(req(good))).toEqual([]);
      const found = problems(req(bad));
      expect(found).toHaveLength(1);
      expect(found[0]).toMatch(message);
    });
  }

  it('drops reserved external label names at compile time, not at validation', () => {
    expect(problems(req({ externalLabels: [{ name: '__name__', value: 'x' }, { name: 'profiles_rule_id', value: 'y' }] }))).toEqual([]);
  });

  it('collects every problem in one message', () => {
    const r = req({ id: '1', metricName: 'bad name', matchers: ['a +'], groupBy: ['a-b'], externalLabels: [{ name: '', value: '' }], generation: -5n });
    const found = problems(r);
    expect(found.length).toBe(8);
    expect(() => validateUpsert(r)).toThrow(/^invalid request: id "1" must contain only letters a-z and A-Z; metric_name "bad name" must match .*; metric_name "bad name" must start with profiles_recorded_; matchers\[0\] is invalid: .*; matchers must select a profile type.*; group_by\[0\].*; external_labels\[0\].*; generation must be positive/);
  });

  it('never crashes on hostile input', () => {
    const mb = 'x'.repeat(1_000_000);
    expect(problems(create(UpsertRecordingRuleRequestSchema))).toEqual(['metric_name is required', expect.stringMatching(/must select a profile type/)]);
    expect(problems(req({ id: mb, metricName: mb, matchers: [mb], groupBy: [mb], externalLabels: [{ name: mb, value: mb }] }))).toHaveLength(7);
    expect(problems(req({ matchers: Array(100_000).fill(CPU) }))).toEqual([expect.stringMatching(/at most 100/)]);
    expect(problems(req({ groupBy: Array(100_000).fill('a') }))).toEqual([expect.stringMatching(/at most 100/)]);
    expect(problems(req({ externalLabels: Array(100_000).fill({ name: 'a', value: 'b' }) }))).toEqual([expect.stringMatching(/at most 100/)]);
    expect(problems(req({ matchers: [CPU, '{a=~"[z-a]"}'] }))).toEqual([expect.stringMatching(/invalid regex/)]);
    expect(problems(req({ matchers: [CPU, '{ä="ö"}'] }))).toEqual([expect.stringMatching(/is invalid/)]);
    expect(problems(req({ matchers: [CPU, '{"ä"="ö"}'] }))).toEqual([]);
    // Plain objects from JSON with nulls and wrong types.
    const loose = (o: Record<string, unknown>) => problems(o as unknown as UpsertRecordingRuleRequest);
    expect(() => validateUpsert(null as unknown as UpsertRecordingRuleRequest)).toThrow(InvalidRuleError);
    expect(loose({ id: null, metricName: 'profiles_recorded_x', matchers: [CPU], groupBy: null, externalLabels: null, generation: null })).toEqual([]);
    expect(loose({ id: 5, metricName: {}, matchers: 'x', groupBy: [1], externalLabels: [null, 3], generation: 'x' })).toHaveLength(7);
    expect(loose({ metricName: 'profiles_recorded_x', matchers: [CPU], generation: '12' })).toEqual([]);
  });
});

describe('ids and profile type', () => {
  it('generates 10 random letters', () => {
    const ids = new Set(Array.from({ length: 1000 }, generateRuleId));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^[a-zA-Z]{10}$/);
  });

  it('finds the profile type', () => {
    expect(profileTypeOf(['{a="b"}', `foo${CPU}`])).toBe('process_cpu:cpu:nanoseconds:cpu:nanoseconds');
    expect(profileTypeOf(['{__profile_type__=~"x"}'])).toBe('unknown');
    expect(profileTypeOf(['a +', '{}'])).toBe('unknown');
    expect(profileTypeOf([])).toBe('unknown');
  });

  it('derives a deterministic id from the documented byte layout', () => {
    const rule = {
      metricName: ' profiles_recorded_x ',
      matchers: ['{b="1"}', CPU],
      groupBy: ['z', 'a'],
      externalLabels: [{ name: 'team', value: 'core' }, { name: 'env', value: 'prod' }],
      stacktraceFilter: { functionName: { functionName: 'main.f' } },
    };
    // Computed here from the layout in docs/recording-rules.md, independently of the code.
    const str = (s: string) => {
      const b = Buffer.from(s);
      const len = Buffer.alloc(4);
      len.writeUInt32BE(b.length);
      return Buffer.concat([len, b]);
    };
    const count = (n: number) => Buffer.from([0, 0, 0, n]);
    const bytes = Buffer.concat([
      str('profiles_recorded_x'),
      str('process_cpu:cpu:nanoseconds:cpu:nanoseconds'),
      count(2), str('{__profile_type__="process_cpu:cpu:nanoseconds:cpu:nanoseconds"}'), str('{b="1"}'),
      count(2), str('a'), str('z'),
      count(2), str('team'), str('core'), str('env'), str('prod'),
      str('main.f'),
    ]);
    const digest = createHash('sha256').update(bytes).digest();
    const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
    const expected = Array.from(digest.subarray(0, 10), (b) => letters[b % 52]).join('');

    expect(deterministicRuleId(rule)).toBe(expected);
    // Order of matchers and group_by does not matter; order of external labels and every field does.
    expect(deterministicRuleId({ ...rule, matchers: [CPU, '{b="1"}'], groupBy: ['a', 'z'] })).toBe(expected);
    expect(deterministicRuleId({ ...rule, externalLabels: [...rule.externalLabels].reverse() })).not.toBe(expected);
    expect(deterministicRuleId({ ...rule, stacktraceFilter: undefined })).not.toBe(expected);
    expect(deterministicRuleId({ ...rule, groupBy: ['az'] })).not.toBe(deterministicRuleId({ ...rule, groupBy: ['a', 'z'] }));
  });
});

describe('compileRule', () => {
  it('settles matchers and output labels', () => {
    const compiled = compileRule(
      create(RecordingRuleSchema, {
        id: 'abc',
        metricName: ' profiles_recorded_x ',
        matchers: [CPU, '{service_name=~"api-.*"}'],
        groupBy: ['service_name'],
        externalLabels: [{ name: 'zone', value: 'a' }, { name: '__name__', value: 'evil' }, { name: 'profiles_rule_id', value: 'evil' }, { name: 'env', value: 'prod' }],
        stacktraceFilter: { functionName: { functionName: 'runtime.mallocgc' } },
      }),
    );
    expect(compiled).toEqual({
      id: 'abc',
      metricName: 'profiles_recorded_x',
      matchers: [
        { name: '__profile_type__', type: '=', value: 'process_cpu:cpu:nanoseconds:cpu:nanoseconds' },
        { name: 'service_name', type: '=~', value: 'api-.*' },
      ],
      profileType: 'process_cpu:cpu:nanoseconds:cpu:nanoseconds',
      groupBy: ['service_name'],
      externalLabels: [
        ['__name__', 'profiles_recorded_x'],
        ['env', 'prod'],
        ['profiles_rule_id', 'abc'],
        ['zone', 'a'],
      ],
      functionName: 'runtime.mallocgc',
    });
  });

  it('refuses an invalid rule', () => {
    expect(() => compileRule(create(RecordingRuleSchema, { id: 'abc', metricName: 'x', matchers: [CPU] }))).toThrow(InvalidRuleError);
    expect(() => compileRule(create(RecordingRuleSchema, { id: '', metricName: 'profiles_recorded_x', matchers: [CPU] }))).toThrow(/id is required/);
  });
});
