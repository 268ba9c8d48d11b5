import { describe, it, expect } from 'vitest';
import { FUNCTIONS } from '../../../../src/tsdb/promql/functions/index.js';
import type { ElementwiseFunction } from '../../../../src/tsdb/promql/functions/types.js';

const el = (name: string) => FUNCTIONS[name] as ElementwiseFunction;
const call = (name: string, v: number, params: number[] = []) => el(name).apply(v, params, 0);

describe('math functions', () => {
  it('are elementwise', () => {
    for (const name of ['abs', 'ceil', 'floor', 'exp', 'sqrt', 'ln', 'log2', 'log10', 'round', 'clamp', 'clamp_min', 'clamp_max', 'sgn', 'deg', 'rad', 'sin', 'acosh']) {
      expect(FUNCTIONS[name]?.kind, name).toBe('elementwise');
    }
  });

  it('compute the basic functions', () => {
    expect(call('abs', -3.5)).toBe(3.5);
    expect(call('ceil', 1.2)).toBe(2);
    expect(call('floor', -1.2)).toBe(-2);
    expect(call('exp', 0)).toBe(1);
    expect(call('sqrt', 16)).toBe(4);
    expect(call('sqrt', -1)).toBeNaN();
    expect(call('ln', 1)).toBe(0);
    expect(call('ln', 0)).toBe(-Infinity);
    expect(call('log2', 8)).toBe(3);
    expect(call('log10', 1000)).toBeCloseTo(3, 14);
    expect(call('log10', -1)).toBeNaN();
  });

  it('sgn keeps zero and NaN', () => {
    expect(call('sgn', -7)).toBe(-1);
    expect(call('sgn', 0.001)).toBe(1);
    expect(Object.is(call('sgn', -0), -0)).toBe(true);
    expect(call('sgn', NaN)).toBeNaN();
  });

  it('round rounds ties up, optionally to a multiple', () => {
    expect(call('round', 2.5)).toBe(3);
    expect(call('round', -2.5)).toBe(-2);
    expect(call('round', -2.6)).toBe(-3);
    expect(call('round', 1234.5678, [0.1])).toBe(1234.6);
    expect(call('round', 17, [5])).toBe(15);
    expect(call('round', 17.5, [5])).toBe(20);
  });

  it('clamp limits values and drops everything when max < min', () => {
    expect(call('clamp', 5, [0, 3])).toBe(3);
    expect(call('clamp', -5, [0, 3])).toBe(0);
    expect(call('clamp', 2, [0, 3])).toBe(2);
    expect(call('clamp', 2, [3, 0])).toBeUndefined();
    expect(call('clamp', NaN, [0, 3])).toBeNaN();
    expect(call('clamp_min', -5, [1])).toBe(1);
    expect(call('clamp_min', 5, [1])).toBe(5);
    expect(call('clamp_max', 5, [1])).toBe(1);
    expect(call('clamp_max', -5, [1])).toBe(-5);
    expect(call('clamp_max', NaN, [1])).toBeNaN();
  });

  it('converts angles and computes trigonometry', () => {
    expect(call('deg', Math.PI)).toBe(180);
    expect(call('rad', 180)).toBe(Math.PI);
    expect(call('sin', Math.PI / 2)).toBe(1);
    expect(call('cos', 0)).toBe(1);
    expect(call('atan', Infinity)).toBe(Math.PI / 2);
    expect(call('acosh', 1)).toBe(0);
    expect(call('atanh', 1)).toBe(Infinity);
    expect(call('asin', 2)).toBeNaN();
  });
});

describe('date functions', () => {
  // 1136239445 = Mon 2006-01-02 22:04:05 UTC.
  const t = 1136239445;

  it('default to the evaluation time', () => {
    for (const name of ['year', 'month', 'day_of_month', 'day_of_year', 'day_of_week', 'days_in_month', 'hour', 'minute']) {
      expect(el(name).defaultsToTime, name).toBe(true);
    }
  });

  it('decompose a UTC time', () => {
    expect(call('year', t)).toBe(2006);
    expect(call('month', t)).toBe(1);
    expect(call('day_of_month', t)).toBe(2);
    expect(call('day_of_year', t)).toBe(2);
    expect(call('day_of_week', t)).toBe(1);
    expect(call('days_in_month', t)).toBe(31);
    expect(call('hour', t)).toBe(22);
    expect(call('minute', t)).toBe(4);
  });

  it('handle the epoch and fractional seconds', () => {
    expect(call('year', 0)).toBe(1970);
    expect(call('day_of_week', 0)).toBe(4); // Thursday
    expect(call('minute', 59.9)).toBe(0);
    expect(call('hour', 3599.999)).toBe(0);
  });

  it('handle leap years and year boundaries', () => {
    // 2016-02-29 23:59:59 and 2016-03-01 00:00:00.
    expect(call('month', 1456790399)).toBe(2);
    expect(call('day_of_month', 1456790399)).toBe(29);
    expect(call('days_in_month', 1456790399)).toBe(29);
    expect(call('month', 1456790400)).toBe(3);
    expect(call('day_of_month', 1456790400)).toBe(1);
    // 2016-12-31 13:37:00 is day 366, 2022-12-31 13:37:00 day 365.
    expect(call('day_of_year', 1483191420)).toBe(366);
    expect(call('day_of_year', 1672493820)).toBe(365);
    // 2008-12-31 23:59:59 / 2009-01-01 00:00:00.
    expect(call('year', 1230767999)).toBe(2008);
    expect(call('year', 1230768000)).toBe(2009);
    // February 2017 (not leap), February 2000 (leap), February 1900 (not leap).
    expect(call('days_in_month', 1485907200)).toBe(28);
    expect(call('days_in_month', 949363200)).toBe(29);
    expect(call('days_in_month', -2206310400)).toBe(28);
  });

  it('handle times before the epoch', () => {
    // -1 = Wed 1969-12-31 23:59:59.
    expect(call('year', -1)).toBe(1969);
    expect(call('month', -1)).toBe(12);
    expect(call('day_of_month', -1)).toBe(31);
    expect(call('day_of_year', -1)).toBe(365);
    expect(call('day_of_week', -1)).toBe(3);
    expect(call('hour', -1)).toBe(23);
    expect(call('minute', -1)).toBe(59);
  });
});
