// Query errors with the errorType Prometheus' HTTP API reports (spec/tsdb.md §3.4).

export type QueryErrorType = 'bad_data' | 'execution' | 'timeout' | 'canceled' | 'internal';

export class QueryError extends Error {
  constructor(
    readonly errorType: QueryErrorType,
    message: string,
  ) {
    super(message);
    this.name = 'QueryError';
  }
}

/** A query that does not parse or type-check; `message` is Prometheus' text, e.g. `1:5: parse error: unclosed left parenthesis`. */
export class ParseError extends QueryError {
  constructor(message: string) {
    super('bad_data', message);
    this.name = 'ParseError';
  }
}
