// A float64 as two uint32 words (hi = sign, exponent, top of the mantissa; lo = the rest).
//
// Why words and not JS numbers: a NaN's payload does not survive every trip through a JS
// number (V8 canonicalises NaNs stored into ordinary arrays), and Prometheus's stale marker is
// a NaN whose bits (0x7ff0000000000002) carry the meaning. Everything that stores or copies
// sample values in the TSDB therefore moves the two words, never the number.

const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);
/** Index of the high word in a Uint32Array view of a Float64Array (platform byte order). */
export const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
/** Index of the low word. */
export const LO = 1 - HI;

/** Prometheus's stale marker (value.StaleNaN) as words. */
export const STALE_NAN_HI = 0x7ff00000;
export const STALE_NAN_LO = 0x00000002;

/** Scratch result of floatToBits: read `bitsHi`/`bitsLo` right after the call. */
export let bitsHi = 0;
export let bitsLo = 0;

/** Splits `v` into words (best effort for NaN payloads: see the header). */
export function floatToBits(v: number): void {
  F64[0] = v;
  bitsHi = U32[HI]!;
  bitsLo = U32[LO]!;
}

/** The number with these words. */
export function bitsToFloat(hi: number, lo: number): number {
  U32[HI] = hi;
  U32[LO] = lo;
  return F64[0]!;
}

/** Word view over a Float64Array's own bytes: element 2i+HI / 2i+LO are value i's words. */
export function wordsOf(values: Float64Array): Uint32Array {
  return new Uint32Array(values.buffer, values.byteOffset, values.length * 2);
}

/** True if `v`'s bits are exactly the stale marker. */
export function isStaleNaN(v: number): boolean {
  floatToBits(v);
  return bitsHi === STALE_NAN_HI && bitsLo === STALE_NAN_LO;
}
