// One error type for every way a block object can be malformed, so callers
// (compaction, queries) can tell "bad data" from bugs and I/O failures.

/** A block object or one of its sections is malformed, truncated or inconsistent. */
export class BlockFormatError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BlockFormatError';
  }
}
