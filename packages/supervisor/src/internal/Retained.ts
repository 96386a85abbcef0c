/**
 * The bounded record of terminated sessions' final `Info`: the last `limit`
 * ones, oldest first, at most one per id. Immutable, so it lives in the
 * supervisor's registry cell and changes with it: an id is in the registry's
 * running sessions or here, never both.
 *
 * @internal
 */
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import * as Order from "effect/Order"
import * as SortedMap from "effect/SortedMap"
import type * as Session from "../Session.js"

/** @internal */
export interface Retained {
  /** Records by the order they were added in (O(log n) to drop the oldest). */
  readonly byOrder: SortedMap.SortedMap<number, Session.Info>
  /** Where each id's record is in `byOrder`. */
  readonly orderOf: HashMap.HashMap<string, number>
  readonly added: number
}

/** @internal */
export const empty: Retained = { byOrder: SortedMap.empty(Order.number), orderOf: HashMap.empty(), added: 0 }

/** Drop the record of `id`, if any (its id was spawned again). */
export const forget = (self: Retained, id: string): Retained =>
  Option.match(HashMap.get(self.orderOf, id), {
    onNone: () => self,
    onSome: (n) => ({ ...self, byOrder: SortedMap.remove(self.byOrder, n), orderOf: HashMap.remove(self.orderOf, id) })
  })

/** Record a terminated session's final `Info`, dropping the oldest record past `limit`. */
export const add = (self: Retained, info: Session.Info, limit: number): Retained => {
  if (limit <= 0) return self
  const n = self.added
  const kept = forget(self, info.id)
  let byOrder = SortedMap.set(kept.byOrder, n, info)
  let orderOf = HashMap.set(kept.orderOf, info.id, n)
  if (SortedMap.size(byOrder) > limit) {
    const [oldest, dropped] = Option.getOrThrow(SortedMap.headOption(byOrder))
    byOrder = SortedMap.remove(byOrder, oldest)
    orderOf = HashMap.remove(orderOf, dropped.id)
  }
  return { byOrder, orderOf, added: n + 1 }
}

/** The records, oldest first. */
export const infos = (self: Retained): Array<Session.Info> => Array.from(SortedMap.values(self.byOrder))
