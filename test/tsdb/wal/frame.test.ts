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
