// The errors of the Prometheus HTTP API: an errorType and a message, answered as
// {"status":"error","errorType":…,"error":…} with the status of spec/tsdb.md §3.4.

import type { QueryErrorType } from '../promql/errors.js';
import { goQuote } from '../promql/go-format.js';

export type ApiErrorType = QueryErrorType | 'unavailable' | 'not_found' | 'not_acceptable';

/** HTTP status of each errorType, as Prometheus' getDefaultErrorCode (499: client closed the request). */
export const ERROR_STATUS: Readonly<Record<ApiErrorType, number>> = {
  bad_data: 400,
  execution: 422,
  timeout: 503,
  canceled: 499,
  internal: 500,
  unavailable: 503,
  not_found: 404,
  not_acceptable: 406,
};

export class ApiError extends Error {
  constructor(
    readonly errorType: ApiErrorType,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  get status(): number {
    return ERROR_STATUS[this.errorType];
  }
}

/** Prometheus' invalidParamError: `invalid parameter "<name>": <why>`, bad_data. */
export function invalidParam(name: string, why: string): ApiError {
  return new ApiError('bad_data', `invalid parameter ${goQuote(name)}: ${why}`);
}
