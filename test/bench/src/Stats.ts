/** Small statistics over samples. */

export const median = (samples: ReadonlyArray<number>): number => percentile(samples, 50)

/** Nearest-rank percentile (p in 0..100); NaN for no samples. */
export const percentile = (samples: ReadonlyArray<number>, p: number): number => {
  if (samples.length === 0) return Number.NaN
  const sorted = [...samples].sort((a, b) => a - b)
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]
}

/** Force a full collection when the process runs with `--expose-gc`. */
export const gc = (): void => {
  ;(globalThis as { gc?: () => void }).gc?.()
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
