// The legacy "groups" (folded stacks) /ingest body: one `root;…;leaf <count>`
// per line. It carries no types, so the profile type comes from the last dotted
// part of the app name, as in Pyroscope's ingest adapter (convertMetadata).
//
// Suffix → (__name__, sample type:unit), period type only where noted:
//
//   (no dot), cpu, itimer          process_cpu  cpu:nanoseconds   ┐ counts are samples taken at
//   wall, seconds, milliseconds,   wall         wall:nanoseconds  │ sampleRate Hz: period =
//     microseconds, nanoseconds                                   ┘ trunc(1e9/sampleRate) ns, period
//                                                                   type cpu:nanoseconds (also for
//                                                                   wall, as Pyroscope), value = count×period
//   inuse_objects / alloc_objects  memory       same name:count
//   inuse_space / alloc_space      memory       same name:bytes
//   alloc_in_new_tlab_objects, alloc_outside_tlab_objects   memory  same name:count
//   alloc_in_new_tlab_bytes, alloc_outside_tlab_bytes       memory  same name:bytes
//   live                           memory       live:count
//   bytes                          memory       samples:bytes
//   goroutines                     goroutine    goroutines:count
//   mutex_count / mutex_duration   mutex        contentions:count / delay:nanoseconds
//   block_count / block_duration   block        contentions:count / delay:nanoseconds
//   lock_count / lock_duration     block        contentions:count / delay:nanoseconds
//   exceptions                     exceptions   samples:count
//   anything else                  IngestError 400 `unknown profile type: X`
//
// With a suffix the service name is the app name without it (`my.app.cpu` → `my.app`).

import type { DecodedProfile } from '../pprof/profile.js';
import { buildProfile } from '../pprof/encode.js';
import { IngestError, quoteInput } from './errors.js';

export interface LegacyProfileType {
  /** App name without the type suffix: the service_name. */
  serviceName: string;
  /** The type suffix (`cpu` when the app name has no dot). */
  suffix: string;
  /** The `__name__` label of the series. */
  metricName: string;
  sampleType: string;
  sampleUnit: string;
  /** Counts are samples at `sampleRate` Hz and become nanoseconds (cpu and wall). */
  scaleBySampleRate: boolean;
}

type TypeRow = [metricName: string, sampleType: string, sampleUnit: string, scale: boolean];

const CPU: TypeRow = ['process_cpu', 'cpu', 'nanoseconds', true];
const WALL: TypeRow = ['wall', 'wall', 'nanoseconds', true];
const SUFFIXES: ReadonlyMap<string, TypeRow> = new Map<string, TypeRow>([
  ['cpu', CPU],
  ['itimer', CPU],
  ['wall', WALL],
  ['seconds', WALL],
  ['milliseconds', WALL],
  ['microseconds', WALL],
  ['nanoseconds', WALL],
  ['inuse_objects', ['memory', 'inuse_objects', 'count', false]],
  ['inuse_space', ['memory', 'inuse_space', 'bytes', false]],
  ['alloc_objects', ['memory', 'alloc_objects', 'count', false]],
  ['alloc_space', ['memory', 'alloc_space', 'bytes', false]],
  ['alloc_in_new_tlab_objects', ['memory', 'alloc_in_new_tlab_objects', 'count', false]],
  ['alloc_in_new_tlab_bytes', ['memory', 'alloc_in_new_tlab_bytes', 'bytes', false]],
  ['alloc_outside_tlab_objects', ['memory', 'alloc_outside_tlab_objects', 'count', false]],
  ['alloc_outside_tlab_bytes', ['memory', 'alloc_outside_tlab_bytes', 'bytes', false]],
  ['live', ['memory', 'live', 'count', false]],
  ['bytes', ['memory', 'samples', 'bytes', false]],
  ['goroutines', ['goroutine', 'goroutines', 'count', false]],
  ['mutex_count', ['mutex', 'contentions', 'count', false]],
  ['mutex_duration', ['mutex', 'delay', 'nanoseconds', false]],
  ['block_count', ['block', 'contentions', 'count', false]],
  ['block_duration', ['block', 'delay', 'nanoseconds', false]],
  ['lock_count', ['block', 'contentions', 'count', false]],
  ['lock_duration', ['block', 'delay', 'nanoseconds', false]],
  ['exceptions', ['exceptions', 'samples', 'count', false]],
]);

/** Profile type of a non-pprof legacy upload from its app name (the part of `name` before `{`). */
export function legacyProfileType(appName: string): LegacyProfileType {
  const dot = appName.lastIndexOf('.');
  const suffix = dot < 0 ? 'cpu' : appName.slice(dot + 1);
  const serviceName = dot < 0 ? appName : appName.slice(0, dot);
  const row = SUFFIXES.get(suffix);
  if (row === undefined) {
    throw new IngestError(400, `unknown profile type: ${suffix}`, 'invalid_labels');
  }
  const [metricName, sampleType, sampleUnit, scaleBySampleRate] = row;
  return { serviceName, suffix, metricName, sampleType, sampleUnit, scaleBySampleRate };
}

export interface FoldedOptions {
  type: LegacyProfileType;
  /** Hz, a positive integer (the caller has applied the default of 100). */
  sampleRate: number;
  timeNanos?: bigint;
  durationNanos?: bigint;
}

function badLine(lineNo: number, line: string, why: string): never {
  throw new IngestError(400, `invalid folded profile, line ${lineNo} ${quoteInput(line, 120)}: ${why}`, 'malformed_profile');
}

/**
 * Parse folded stacks into a one-sample-type profile. Identical stacks are summed;
 * zero counts are dropped. Work and memory are linear in the text size, which the
 * caller has already bounded. Bad lines → IngestError 400 naming the line number.
 */
export function parseFolded(text: string | Uint8Array, opts: FoldedOptions): DecodedProfile {
  const src = typeof text === 'string' ? text : new TextDecoder('utf-8').decode(text);
  const { type } = opts;
  if (!Number.isSafeInteger(opts.sampleRate) || opts.sampleRate < 1) {
    throw new RangeError(`sampleRate must be a positive integer, got ${opts.sampleRate}`);
  }
  const period = type.scaleBySampleRate ? Math.trunc(1e9 / opts.sampleRate) : 0;
  const multiplier = type.scaleBySampleRate ? period : 1;

  // stack text (root first) → index into `samples`
  const index = new Map<string, number>();
  const samples: { stack: string[]; values: number[] }[] = [];
  let lineNo = 0;
  let start = 0;
  while (start <= src.length) {
    let end = src.indexOf('\n', start);
    if (end < 0) end = src.length;
    lineNo++;
    const line = src.slice(start, end).trim();
    start = end + 1;
    if (line === '') continue;

    const space = line.lastIndexOf(' ');
    if (space < 0) badLine(lineNo, line, "expected '<stack> <count>'");
    const countText = line.slice(space + 1);
    const stackText = line.slice(0, space).trimEnd();
    if (!/^\d+$/.test(countText)) badLine(lineNo, line, `count ${quoteInput(countText)} is not a non-negative integer`);
    const count = Number(countText);
    if (!Number.isSafeInteger(count)) badLine(lineNo, line, 'count is too large');
    if (stackText === '') badLine(lineNo, line, 'empty stack');
    const frames = stackText.split(';');
    if (frames.some((f) => f === '')) badLine(lineNo, line, 'empty frame name');
    if (count === 0) continue;

    const value = count * multiplier;
    if (!Number.isSafeInteger(value)) badLine(lineNo, line, 'scaled value is too large');
    const at = index.get(stackText);
    if (at === undefined) {
      index.set(stackText, samples.length);
      samples.push({ stack: frames.reverse(), values: [value] });
    } else {
      const sum = samples[at]!.values[0]! + value;
      if (!Number.isSafeInteger(sum)) badLine(lineNo, line, 'summed value is too large');
      samples[at]!.values[0] = sum;
    }
  }

  return buildProfile({
    sampleTypes: [[type.sampleType, type.sampleUnit]],
    ...(type.scaleBySampleRate ? { periodType: ['cpu', 'nanoseconds'] as [string, string], period } : {}),
    ...(opts.timeNanos !== undefined ? { timeNanos: opts.timeNanos } : {}),
    ...(opts.durationNanos !== undefined ? { durationNanos: opts.durationNanos } : {}),
    samples,
  });
}
