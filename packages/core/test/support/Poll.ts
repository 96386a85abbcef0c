/**
 * Waiting, with a bound, for a condition that no server event announces (a
 * consumer's count, a flag set in a callback).
 */

/** Resolves once `predicate()` holds (checked every 2 ms); rejects after `timeoutMs`. */
export const until = (predicate: () => boolean, timeoutMs = 2_000): Promise<void> =>
  new Promise<void>((resolve, reject) => {
    const deadline = performance.now() + timeoutMs
    const check = () => {
      if (predicate()) return resolve()
      if (performance.now() > deadline) return reject(new Error(`condition not met within ${timeoutMs} ms`))
      setTimeout(check, 2)
    }
    check()
  })
