// The one error type the ingest parsers throw. The HTTP handler turns it into
// a response with `status` and `message`; `reason` labels the discard metric.

/** Discard reasons used by the ingest parsers (snake_case, metric label values). */
export type IngestDiscardReason =
  | 'malformed_profile'
  | 'invalid_labels'
  | 'invalid_request'
  | 'profile_size_limit'
  | 'unsupported_format'
  | 'unsupported_client';

export class IngestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason: string,
  ) {
    super(message);
    this.name = 'IngestError';
  }
}

/** Quote user input for an error message, cut so a huge value cannot bloat logs or responses. */
export function quoteInput(value: string, max = 200): string {
  const cut = value.length > max ? `${value.slice(0, max)}…` : value;
  return JSON.stringify(cut);
}
