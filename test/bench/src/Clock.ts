/**
 * One clock for every process of a run. `process.hrtime` reads the system's
 * monotonic clock (CLOCK_MONOTONIC on Linux, the same source libuv uses on
 * every platform), which all processes on a machine share, so a timestamp
 * taken here and one taken in the server child compare directly.
 * `performance.now()` does not: it counts from each process's own start.
 */

/** Milliseconds on the machine-wide monotonic clock. */
export const now = (): number => Number(process.hrtime.bigint()) / 1e6

/** `performance.now()` of this process → the shared clock. */
export const fromPerformance = (() => {
  const offset = now() - performance.now()
  return (t: number): number => t + offset
})()
