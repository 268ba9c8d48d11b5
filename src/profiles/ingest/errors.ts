// The one error type the ingest parsers throw. The HTTP handler turns it into
// a response with `status` and `message`; `reason` labels the discard metric.

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

/** An error as an IngestError: an unexpected one is a 500 with its message. */
export function asIngestError(e: unknown): IngestError {
  return e instanceof IngestError ? e : new IngestError(500, (e as Error).message, 'internal');
}

/** Quote user input for an error message, cut so a huge value cannot bloat logs or responses. */
export function quoteInput(value: string, max = 200): string {
  const cut = value.length > max ? `${value.slice(0, max)}…` : value;
  return JSON.stringify(cut);
}
