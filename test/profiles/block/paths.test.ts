import { describe, expect, it } from 'vitest';
import { compareLabels, compareStrings, sortedLabels } from '../../../src/profiles/block/labels.js';
import { blockIdFromPath, blockPath, objectPath, segmentPath } from '../../../src/profiles/block/paths.js';

const ID = '01JDQ4Z5X8K9M2N3P4Q5R6S7T8';

describe('object paths', () => {
  it('lays out segments and compacted blocks as Pyroscope does', () => {
    expect(segmentPath(4, ID)).toBe(`segments/4/anonymous/${ID}/block.bin`);
    expect(blockPath(4, 'acme', ID)).toBe(`blocks/4/acme/${ID}/block.bin`);
    expect(objectPath({ shard: 2, compactionLevel: 0, tenant: '', id: ID })).toBe(`segments/2/anonymous/${ID}/block.bin`);
    expect(objectPath({ shard: 2, compactionLevel: 3, tenant: 't1', id: ID })).toBe(`blocks/2/t1/${ID}/block.bin`);
    expect(blockIdFromPath(`blocks/2/t1/${ID}/block.bin`)).toBe(ID);
  });
  it('rejects elements that would change the directory structure', () => {
    expect(() => blockPath(1, 'a/b', ID)).toThrow(/invalid tenant/);
    expect(() => blockPath(1, '..', ID)).toThrow(/invalid tenant/);
    expect(() => segmentPath(-1, ID)).toThrow(/invalid shard/);
    expect(() => segmentPath(1, '')).toThrow(/invalid block id/);
    expect(() => blockIdFromPath('blocks/2/t1/x/meta.pb')).toThrow(/not a block object key/);
  });
});

describe('label order', () => {
  it('orders strings by code point, like Go byte order', () => {
    expect(compareStrings('a', 'b')).toBe(-1);
    expect(compareStrings('ab', 'a')).toBe(1);
    expect(compareStrings('', '')).toBe(0);
    // U+FF5E (one UTF-16 unit) sorts before U+1F600 (a surrogate pair) in UTF-8, unlike JS `<`.
    expect('\u{1F600}' < '\uFF5E').toBe(true);
    expect(compareStrings('\uFF5E', '\u{1F600}')).toBe(-1);
    expect(compareStrings('\u{1F600}', '\uFF5E')).toBe(1);
  });
  it('orders label sets pair by pair, a prefix first', () => {
    expect(compareLabels([['a', '1']], [['a', '1'], ['b', '1']])).toBe(-1);
    expect(compareLabels([['a', '2']], [['a', '1'], ['b', '1']])).toBe(1);
    expect(compareLabels([['a', '1']], [['b', '0']])).toBe(-1);
    expect(compareLabels([['a', '1']], [['a', '1']])).toBe(0);
  });
  it('sorts pairs by name and rejects duplicate names', () => {
    expect(sortedLabels([['b', '1'], ['a', '2']])).toEqual([['a', '2'], ['b', '1']]);
    expect(() => sortedLabels([['b', '1'], ['a', '2'], ['b', '3']])).toThrow(/duplicate label name "b"/);
  });
});
