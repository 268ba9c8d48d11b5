import { describe, expect, it } from 'vitest';
import { crc32c } from '../../../src/profiles/block/crc32c.js';

describe('crc32c', () => {
  it('matches the published check values', () => {
    // RFC 3720 B.4 and the common "123456789" check value for CRC-32C.
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
  });
  it('continues across chunks', () => {
    const a = new TextEncoder().encode('1234');
    const b = new TextEncoder().encode('56789');
    expect(crc32c(b, crc32c(a))).toBe(0xe3069283);
  });
});
