/**
 * Waiting on the server's state without polling: each waiter is a condition re-checked on every
 * socket and response event (`notify`), with at most one bounded timer.
 */

/** A condition re-checked on every event. */
export interface Waiter {
  check(): void
}

/** The server's pending waiters. */
export class Waiters {
  private readonly pending = new Set<Waiter>()

  add(waiter: Waiter): void {
    this.pending.add(waiter)
  }

  delete(waiter: Waiter): void {
    this.pending.delete(waiter)
  }

  /** Re-checks every pending waiter (a waiter may remove itself while checked). */
  notify(): void {
    if (this.pending.size === 0) return
    for (const waiter of [...this.pending]) waiter.check()
  }

  /**
   * Resolves with `read()` once `predicate` holds on it, re-checked on every `notify`; rejects with
   * `timeout()` after `timeoutMs`, or with what the predicate throws.
   */
  until<A>(read: () => A, predicate: (value: A) => boolean, timeoutMs: number, timeout: () => Error): Promise<A> {
    return new Promise((resolve, reject) => {
      const timers: { timer?: NodeJS.Timeout } = {}
      let done = false
      const settle = (f: () => void) => {
        done = true
        this.pending.delete(waiter)
        if (timers.timer !== undefined) clearTimeout(timers.timer)
        f()
      }
      const waiter: Waiter = {
        check: () => {
          const value = read()
          let ok: boolean
          try {
            ok = predicate(value)
          } catch (error) {
            return settle(() => reject(error))
          }
          if (ok) settle(() => resolve(value))
        }
      }
      this.pending.add(waiter)
      waiter.check()
      if (done) return
      timers.timer = setTimeout(() => settle(() => reject(timeout())), timeoutMs)
    })
  }
}
