// Date functions on a value of Unix seconds, in UTC (truncated to whole seconds as Go's
// time.Unix(int64(v), 0) does). Without an argument they apply to the evaluation time.
// Computed arithmetically (proleptic Gregorian calendar), so no Date objects per element.

import type { ElementwiseFunction } from './types.js';

const SECONDS_PER_DAY = 86_400;

// Civil date from days since 1970-01-01 (H. Hinnant's algorithm). Results in module state to
// avoid a tuple per call.
let civilYear = 0;
let civilMonth = 0;
let civilDay = 0;

function civilFromDays(days: number): void {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097; // [0, 146096]
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365); // [0, 399]
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100)); // [0, 365], from March 1st
  const mp = Math.floor((5 * doy + 2) / 153); // [0, 11], March = 0
  civilDay = doy - Math.floor((153 * mp + 2) / 5) + 1;
  civilMonth = mp < 10 ? mp + 3 : mp - 9;
  civilYear = yoe + era * 400 + (civilMonth <= 2 ? 1 : 0);
}

function isLeapYear(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

const DAYS_BEFORE_MONTH = [0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Whole days since the epoch of `v` seconds (floored), or NaN for non-finite input. */
function epochDays(v: number): number {
  return Math.floor(Math.trunc(v) / SECONDS_PER_DAY);
}

function secondOfDay(v: number): number {
  const s = Math.trunc(v);
  return s - Math.floor(s / SECONDS_PER_DAY) * SECONDS_PER_DAY;
}

function dateFunction(f: (v: number) => number): ElementwiseFunction {
  return {
    kind: 'elementwise',
    defaultsToTime: true,
    apply: (v) => (Number.isFinite(v) ? f(v) : NaN),
  };
}

export const DATE_FUNCTIONS: Readonly<Record<string, ElementwiseFunction>> = {
  year: dateFunction((v) => {
    civilFromDays(epochDays(v));
    return civilYear;
  }),
  month: dateFunction((v) => {
    civilFromDays(epochDays(v));
    return civilMonth;
  }),
  day_of_month: dateFunction((v) => {
    civilFromDays(epochDays(v));
    return civilDay;
  }),
  day_of_year: dateFunction((v) => {
    civilFromDays(epochDays(v));
    return DAYS_BEFORE_MONTH[civilMonth]! + civilDay + (civilMonth > 2 && isLeapYear(civilYear) ? 1 : 0);
  }),
  // 0 = Sunday; 1970-01-01 was a Thursday.
  day_of_week: dateFunction((v) => {
    return (((epochDays(v) + 4) % 7) + 7) % 7;
  }),
  days_in_month: dateFunction((v) => {
    civilFromDays(epochDays(v));
    return civilMonth === 2 && isLeapYear(civilYear) ? 29 : DAYS_IN_MONTH[civilMonth]!;
  }),
  hour: dateFunction((v) => Math.floor(secondOfDay(v) / 3600)),
  minute: dateFunction((v) => Math.floor((secondOfDay(v) % 3600) / 60)),
};
