// Head querier: matcher semantics (Prometheus), inclusive ranges, sorted output, label APIs.
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Head } from '../../../src/tsdb/head/head.js';
import type { LabelMatcher } from '../../../src/tsdb/storage.js';
import { NO_OOO, recordingLogger, series, tempDir } from '../helpers.js';

let dir: string;
let head: Head;
beforeAll(async () => {
  dir = await tempDir();
  head = await Head.open(dir, { logger: recordingLogger() });
  const pts: Array<[number, number]> = [
    [1000, 1],
    [2000, 2],
    [3000, 3],
  ];
  await head.append(
    [
      series({ __name__: 'up', job: 'api', env: 'prod' }, pts),
      series({ __name__: 'up', job: 'web', env: 'dev' }, pts),
      series({ __name__: 'up', job: 'db' }, pts),
      series({ __name__: 'down', job: 'api', env: 'prod' }, [[5000, 5]]),
    ],
    NO_OOO,
  );
});
afterAll(async () => {
  await head.close();
  await rm(dir, { recursive: true, force: true });
});

const m = (name: string, type: LabelMatcher['type'], value: string): LabelMatcher => ({ name, type, value });

async function jobs(matchers: LabelMatcher[], minT = 0, maxT = 10_000): Promise<string[]> {
  const out = await head.querier().select(matchers, minT, maxT);
  return out.map((s) => `${s.labels.find(([n]) => n === '__name__')![1]}/${s.labels.find(([n]) => n === 'job')![1]}`);
}

// Output is sorted by the whole label set: {env="dev",job="web"} < {env="prod",job="api"} < {job="db"}.
describe('head querier', () => {
  it('= and != (!= includes series without the label)', async () => {
    expect(await jobs([m('__name__', '=', 'up')])).toEqual(['up/web', 'up/api', 'up/db']);
    expect(await jobs([m('__name__', '=', 'up'), m('env', '!=', 'prod')])).toEqual(['up/web', 'up/db']);
    expect(await jobs([m('__name__', '=', 'nope')])).toEqual([]);
    expect(await jobs([m('nolabel', '=', 'x')])).toEqual([]);
  });

  it('=~ and !~ are anchored; !~ includes series without the label', async () => {
    expect(await jobs([m('job', '=~', 'a.*')])).toEqual(['down/api', 'up/api']);
    expect(await jobs([m('job', '=~', 'p')])).toEqual([]); // anchored: "api" does not match "p"
    expect(await jobs([m('__name__', '=', 'up'), m('env', '!~', 'pr.*')])).toEqual(['up/web', 'up/db']);
    expect(await jobs([m('__name__', '=', 'up'), m('job', '=~', 'web|db')])).toEqual(['up/web', 'up/db']);
  });

  it('empty-value matchers match series without the label', async () => {
    expect(await jobs([m('__name__', '=', 'up'), m('env', '=', '')])).toEqual(['up/db']);
    expect(await jobs([m('__name__', '=', 'up'), m('env', '=~', '|dev')])).toEqual(['up/web', 'up/db']);
    expect(await jobs([m('__name__', '=', 'up'), m('env', '!=', '')])).toEqual(['up/web', 'up/api']);
    expect(await jobs([m('__name__', '=', 'up'), m('env', '!~', '')])).toEqual(['up/web', 'up/api']);
    expect(await jobs([m('__name__', '=', 'up'), m('missing', '=', '')])).toEqual(['up/web', 'up/api', 'up/db']);
  });

  it('ranges are inclusive at both ends; series without samples in range are left out', async () => {
    const [s] = await head.querier().select([m('job', '=', 'db')], 2000, 3000);
    expect(Array.from(s!.timestamps)).toEqual([2000, 3000]);
    expect(Array.from(s!.values)).toEqual([2, 3]);
    expect(await jobs([m('job', '=', 'api')], 4000, 5000)).toEqual(['down/api']);
    expect(await jobs([m('job', '=', 'api')], 3001, 4999)).toEqual([]);
  });

  it('returns series sorted by labels', async () => {
    const all = await head.querier().select([m('__name__', '=~', '.+')], 0, 10_000);
    const keys = all.map((s) => JSON.stringify(s.labels));
    expect(keys).toEqual([...keys].sort());
    expect(all).toHaveLength(4);
  });

  it('labelNames and labelValues, with and without matchers and ranges', async () => {
    const q = head.querier();
    expect(await q.labelNames([], 0, 10_000)).toEqual(['__name__', 'env', 'job']);
    expect(await q.labelNames([m('job', '=', 'db')], 0, 10_000)).toEqual(['__name__', 'job']);
    expect(await q.labelValues('job', [], 0, 10_000)).toEqual(['api', 'db', 'web']);
    expect(await q.labelValues('job', [m('__name__', '=', 'down')], 0, 10_000)).toEqual(['api']);
    expect(await q.labelValues('__name__', [], 4000, 6000)).toEqual(['down']);
    expect(await q.labelValues('nolabel', [], 0, 10_000)).toEqual([]);
  });

  it('rejects an invalid regex with a clear error', async () => {
    await expect(head.querier().select([m('job', '=~', '(')], 0, 1)).rejects.toThrow(/invalid regular expression/);
  });
});
