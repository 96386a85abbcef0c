/**
 * Connection reuse: 100 sequential full reads through one client use at most
 * two connections (the body is read to its end after `done: true`, so the
 * socket goes back to the pool). Measured: 2 — the second request is sent a
 * moment before undici has put the first socket back in its pool; from then
 * on the two pooled sockets serve every request.
 */
import { FakeLlmServer, Script } from "@streamvisor/testkit"
import * as Exit from "effect/Exit"
import * as Stream from "effect/Stream"
import { afterAll, beforeAll, expect, it } from "vitest"
import { harness, run, settle, unhandled, user } from "./support/Harness.js"

let server: FakeLlmServer.Server

beforeAll(async () => {
  server = await FakeLlmServer.start({ keepAliveTimeout: 30_000 })
})
afterAll(async () => {
  await server.close()
  expect(unhandled).toEqual([])
})

it("100 sequential full reads reuse their connections", async () => {
  const h = harness(server)
  server.setScript(Script.text(["a", "b", "c"]))
  const request = { model: "m", messages: user() }
  let finishes = 0
  for (let i = 0; i < 100; i++) {
    const exit = await run(h, h.provider.generate(request))
    if (Exit.isSuccess(exit) && exit.value.text === "abc" && exit.value.finish.reason === "stop") finishes++
  }
  expect(finishes).toBe(100)
  expect(server.stats().total).toBe(100)
  expect(server.stats().completed).toBe(100)
  expect(h.ledger.snapshot().outcomes.completed).toBe(100)
  console.log(`keep-alive: ${server.stats().total} requests over ${h.connections()} connection(s)`)
  expect(h.connections()).toBeLessThanOrEqual(2)
  await settle(server, h)
})

it("an early stop costs its connection, and only that one", async () => {
  const h = harness(server)
  server.setScript(Script.text(50, { delayMs: 20 }))
  for (let i = 0; i < 5; i++) {
    await run(h, Stream.runDrain(h.provider.stream({ model: "m", messages: user() }).pipe(Stream.take(1))))
  }
  server.setScript(Script.text(["a"]))
  for (let i = 0; i < 5; i++) await run(h, h.provider.generate({ model: "m", messages: user() }))
  // A cut stream's socket is destroyed (it cannot be reused mid-body); the full reads share the rest.
  expect(server.stats().closedByClient).toBe(5)
  expect(h.connections()).toBeGreaterThanOrEqual(6)
  expect(h.connections()).toBeLessThanOrEqual(7)
  await settle(server, h)
})
