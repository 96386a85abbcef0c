/**
 * Issue 13 §3: a live supervisor's name (its metrics' tag) is its own, and the
 * snapshot gives running and terminated sessions apart.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Metric, Scope, Stream } from "effect"
import { Supervisor } from "../src/index.js"
import * as Fake from "./support/Fake.js"
import { waitUntil, withSupervisor } from "./support/Harness.js"

const committed = (supervisor: Supervisor.Supervisor) =>
  Effect.map(Metric.value(supervisor.metrics.turns.committed), (state) => state.count)

describe("supervisor names", () => {
  it.scoped("a second live supervisor with the same name is refused with NameInUse; the name is free once the first has closed", () =>
    Effect.gen(function*() {
      const first = yield* Scope.make()
      const a = yield* Scope.extend(Supervisor.make({ name: "tenant-a" }), first)
      expect(a.name).toBe("tenant-a")
      const refused = yield* Effect.flip(Supervisor.make({ name: "tenant-a" }))
      expect(refused).toMatchObject({ _tag: "NameInUse", name: "tenant-a" })
      expect(refused.message).toContain("tenant-a")
      // the refused attempt held nothing: once the first closes, the name is free
      yield* Scope.close(first, Exit.void)
      const again = yield* Scope.make()
      const b = yield* Scope.extend(Supervisor.make({ name: "tenant-a" }), again)
      expect(b.name).toBe("tenant-a")
      yield* Scope.close(again, Exit.void)
    }))

  it.scoped("unnamed supervisors get the first free default name, reused once free", () =>
    Effect.gen(function*() {
      const first = yield* Scope.make()
      const a = yield* Scope.extend(Supervisor.make(), first)
      const b = yield* Supervisor.make()
      const c = yield* Supervisor.make({})
      expect([a.name, b.name, c.name]).toEqual(["supervisor", "supervisor-2", "supervisor-3"])
      yield* Scope.close(first, Exit.void)
      expect((yield* Supervisor.make()).name).toBe("supervisor")
      // an explicit default name is refused while an unnamed one holds it
      expect((yield* Effect.flip(Supervisor.make({ name: "supervisor-2" })))._tag).toBe("NameInUse")
    }))

  it.effect("two supervisors with different names keep separate metrics", () =>
    Effect.gen(function*() {
      const fake = Fake.make()
      yield* withSupervisor({ name: "metrics-a" }, (a) =>
        Effect.gen(function*() {
          const b = yield* Supervisor.make({ name: "metrics-b" })
          const before = [yield* committed(a), yield* committed(b)]
          const ra = yield* a.spawn({ id: "x", provider: fake.provider, model: "m" })
          const rb = yield* b.spawn({ id: "x", provider: fake.provider, model: "m" })
          yield* Stream.runDrain(ra.send("one"))
          yield* Stream.runDrain(ra.send("two"))
          yield* Stream.runDrain(rb.send("three"))
          expect([(yield* committed(a)) - before[0], (yield* committed(b)) - before[1]]).toEqual([2, 1])
          expect((yield* Metric.value(a.metrics.sessions)).value).toBe(1)
          expect((yield* Metric.value(b.metrics.sessions)).value).toBe(1)
        }))
    }))
})

describe("snapshot", () => {
  it.effect("runningSessions and terminatedSessions apart; sessions is both, running first", () =>
    Effect.gen(function*() {
      const fake = Fake.make()
      yield* withSupervisor({}, (supervisor) =>
        Effect.gen(function*() {
          const refs = yield* Effect.forEach(["a", "b", "c"], (id) => supervisor.spawn({ id, provider: fake.provider, model: "m" }))
          yield* refs[1].stop
          yield* refs[2].crash()
          yield* supervisor.spawn({ id: "t", provider: fake.provider, model: "m", restart: "temporary" }).pipe(
            Effect.flatMap((ref) => ref.crash())
          )
          yield* waitUntil(Effect.map(supervisor.snapshot, (s) => s.failed === 1), "t failed")
          const snapshot = yield* supervisor.snapshot
          expect(snapshot.runningSessions.map((i) => [i.id, i.status]).sort()).toEqual([["a", "idle"], ["c", "restarting"]])
          expect(snapshot.terminatedSessions.map((i) => [i.id, i.status])).toEqual([["b", "stopped"], ["t", "failed"]])
          expect(snapshot.sessions).toEqual([...snapshot.runningSessions, ...snapshot.terminatedSessions])
          expect(snapshot.running).toBe(snapshot.runningSessions.length)
        }))
    }))
})
