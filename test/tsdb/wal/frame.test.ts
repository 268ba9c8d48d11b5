// frameInPlace (the head's append path) writes the same frame as frameRecords.
import { describe, expect, it } from 'vitest';
import { RecordWriter, RECORD_SAMPLES } from '../../../src/tsdb/wal/wal-records.js';
import { FRAME_HEADER_BYTES, frameInPlace, frameRecords } from '../../../src/tsdb/wal/wal-segment.js';

describe('frameInPlace', () => {
  it('frames a payload written after reserved header bytes exactly as frameRecords does', () => {
    for (const n of [0, 1, 7, 300, 70_000]) {
      const w = new RecordWriter(16, FRAME_HEADER_BYTES);
      for (let i = 0; i < n; i++) w.uvarint((i * 2654435761) % 100_000);
      const payload = w.finish().slice();
      expect(payload.length).toBe(w.length - FRAME_HEADER_BYTES);
      expect(Buffer.from(frameInPlace(w.bytes, w.length, RECORD_SAMPLES))).toEqual(Buffer.from(frameRecords([{ type: RECORD_SAMPLES, payload }])));
    }
  });
});

describe('RecordWriter.uvarint', () => {
  it('writes Go uvarints for small, 31/32-bit boundary and timestamp-sized values', async () => {
    const { RecordReader } = await import('../../../src/tsdb/wal/wal-records.js');
    const values = [0, 1, 127, 128, 300, 2 ** 28 - 1, 2 ** 28, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 1_700_000_000_000, 3_400_000_000_001, 2 ** 53 - 1];
    const w = new RecordWriter(4);
    for (const v of values) w.uvarint(v);
    const r = new RecordReader(w.finish());
    for (const v of values) expect(r.uvarint()).toBe(v);
    // Byte-exact against the arithmetic definition.
    const ref: number[] = [];
    for (let v of values) {
      while (v >= 0x80) {
        ref.push((v % 0x80) | 0x80);
        v = Math.floor(v / 0x80);
      }
      ref.push(v);
    }
    expect(Array.from(w.finish())).toEqual(ref);
  });
});
