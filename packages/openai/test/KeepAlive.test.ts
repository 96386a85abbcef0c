/**
 * Keep-alive: 100 sequential full reads through one client reuse its pooled
 * connection. Counted on the client (sockets its undici Agent opened) and on
 * the server (requests received vs sockets open).
 */
import { FakeLlmServer, Script } from "@streamvisor/testkit"
import * as Exit from "effect/Exit"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Api } from "./support/Server.js"
import { harness, run, settle, unhandled } from "./support/Server.js"

let server: FakeLlmServer.Server

beforeAll(async () => {
  server = await FakeLlmServer.start({ script: Script.text(["a", "b", "c"]) })
})

afterAll(async () => {
  await server?.close()
  expect(unhandled).toEqual([])
})

describe.each<Api>(["chat", "responses"])("%s API", (api) => {
  it("100 sequential full reads use few connections", async () => {
    const h = harness(server, api)
    const before = server.stats().total
    let maxOpen = 0
    for (let i = 0; i < 100; i++) {
      const exit = await run(h, h.provider.generate({ model: "m", messages: [{ role: "user", content: `#${i}` }] }))
      expect(Exit.isSuccess(exit)).toBe(true)
      maxOpen = Math.max(maxOpen, server.stats().open)
    }
    const requests = server.stats().total - before
    console.info(`[${api}] 100 sequential reads: ${h.connections()} connection(s) opened, max ${maxOpen} open at the server`)
    expect(requests).toBe(100)
    expect(h.connections()).toBeLessThanOrEqual(2)
    expect(maxOpen).toBeLessThanOrEqual(2)
    expect(h.ledger.snapshot()).toMatchObject({ opened: 100, released: 100, outcomes: { completed: 100 } })
    await settle(server, h)
  })
})
