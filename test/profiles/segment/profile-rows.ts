// Rows in columns as ProfileRow objects, for tests that look at single rows.

import type { ProfileRow, RowColumns } from '../../../src/profiles/block/model.js';

/** The rows as ProfileRow objects, whose arrays are views into the columns. */
export function profileRows(c: RowColumns): ProfileRow[] {
  return Array.from(c.rowSeries, (seriesIndex, i) => {
    const a = c.rowStackStart[i]!;
    const b = c.rowStackStart[i + 1]!;
    return {
      seriesIndex,
      profileId: c.rowIds.subarray(c.rowIdStart[i]!, c.rowIdStart[i + 1]!),
      timeNanos: c.rowTime[i]!,
      durationNanos: c.rowDuration[i]!,
      period: c.rowPeriod[i]!,
      totalValue: c.rowTotal[i]!,
      stacktraceIds: c.rowStacks.subarray(a, b),
      values: c.rowValues.subarray(a, b),
    };
  });
}
