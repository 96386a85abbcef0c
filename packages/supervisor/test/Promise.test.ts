/**
 * The promise face (`@streamvisor/supervisor/promise`, issue 13 §4) against
 * FakeLlmServer over real HTTP (the real Ollama adapter): `break`, `return()`
 * and an `AbortSignal` cancel the turn and release its connection; typed
 * errors are thrown as themselves; `close()` / `await using` shut down and
 * report. After each case: nothing in flight at the server, no socket once the
 * pool closes, ledger live 0, no unhandled rejection.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { Ledger } from "@streamvisor/core"
import { FakeLlmServer, Script } from "@streamvisor/testkit"
import { startSupervisor } from "@streamvisor/supervisor/promise"
import { SessionError, SupervisorError } from "../src/index.js"
import * as Ollama from "./support/Ollama.js"

let server: FakeLlmServer.Server
let pool: Ollama.Pool
let ledger: Ledger.Service
const unhandled: Array<unknown> = []
const onUnhandled = (reason: unknown) => void unhandled.push(reason)

beforeAll(async () => {
  server = await FakeLlmServer.start()
  process.on("unhandledRejection", onUnhandled)
})
afterAll(async () => {
  process.off("unhandledRejection", onUnhandled)
  await server.close()
})
beforeEach(() => {
  server.reset()
  server.setScript(Script.text(300, { delayMs: 5 }))
  pool = Ollama.pool(server)
  ledger = Ledger.make()
})
afterEach(async () => {
  await server.waitFor((s) => s.inflight === 0, { timeoutMs: 2_000 })
  await pool.agent.close()
  await server.waitFor((s) => s.open === 0, { timeoutMs: 2_000 })
  expect(ledger.snapshot().live).toEqual([])
  expect(ledger.snapshot().released).toBe(ledger.snapshot().opened)
  expect(ledger.doubleReleases()).toBe(0)
  expect(unhandled).toEqual([])
})

describe("startSupervisor", () => {
  it("send reads to the end and commits; tell, history, snapshot, close returns the report", async () => {
    server.setScript(Script.text(["Hello", " there"]))
    const sup = await startSupervisor({ name: "promise-1", ledger })
    const chat = await sup.spawn({ id: "a", provider: pool.provider(), model: "m" })
    let text = ""
    for await (const event of chat.send("Hi")) if (event._tag === "TextDelta") text += event.text
    expect(text).toBe("Hello there")
    expect(await chat.history()).toEqual([{ role: "user", content: "Hi" }, { role: "assistant", content: "Hello there" }])
    expect(await chat.tell("again")).toBe(2)
    const snapshot = await sup.snapshot()
    expect(snapshot.sessions.map((s) => s.id)).toEqual(["a"])
    const report = await sup.close()
    expect(report).toMatchObject({ reason: "closed", sessionsStopped: 1, streamsLive: 0 })
    expect(await sup.close()).toEqual(report) // idempotent
  })

  it("break cancels the turn and releases the connection; history unchanged", async () => {
    const sup = await startSupervisor({ ledger })
    const chat = await sup.spawn({ provider: pool.provider(), model: "m" })
    let seen = 0
    for await (const _ of chat.send("long")) if (++seen === 3) break
    await server.waitFor((s) => s.inflight === 0, { timeoutMs: 2_000 })
    expect(ledger.snapshot().live).toEqual([])
    expect(await chat.history()).toEqual([])
    await sup.close()
  })

  it("an AbortSignal cancels the turn: next() rejects with signal.reason", async () => {
    const sup = await startSupervisor({ ledger })
    const chat = await sup.spawn({ provider: pool.provider(), model: "m" })
    const controller = new AbortController()
    const reason = new Error("stopped by the user")
    let seen = 0
    const read = (async () => {
      for await (const _ of chat.send("long", { signal: controller.signal })) {
        if (++seen === 2) controller.abort(reason)
      }
    })()
    await expect(read).rejects.toBe(reason)
    await server.waitFor((s) => s.inflight === 0, { timeoutMs: 2_000 })
    expect(await chat.history()).toEqual([])
    await sup.close()
  })

  it("typed errors are thrown as themselves", async () => {
    const sup = await startSupervisor({ ledger })
    await expect(sup.spawn({ provider: {} as never, model: "m" })).rejects.toBeInstanceOf(SupervisorError.InvalidOptions)
    const chat = await sup.spawn({ id: "e", provider: pool.provider(), model: "m" })
    expect(() => chat.send("")).toThrow(SessionError.InvalidMessage)
    await expect(chat.tell(42 as never)).rejects.toBeInstanceOf(SessionError.InvalidMessage)
    await expect(sup.spawn({ id: "e", provider: pool.provider(), model: "m" })).rejects.toBeInstanceOf(
      SupervisorError.SessionIdInUse
    )
    server.enqueue(Script.status(500))
    await expect((async () => {
      for await (const _ of chat.send("fail")) {
        // never reached
      }
    })()).rejects.toMatchObject({ _tag: "ServerError" })
    await chat.stop()
    await expect(chat.tell("late")).rejects.toBeInstanceOf(SessionError.SessionStopped)
    await sup.close()
    await expect(sup.spawn({ provider: pool.provider(), model: "m" })).rejects.toBeInstanceOf(SupervisorError.SupervisorClosed)
  })

  it("await using closes it, cutting a turn in flight within shutdownTimeout", async () => {
    let iterator: AsyncIterator<unknown> | undefined
    {
      await using sup = await startSupervisor({ ledger, shutdownTimeout: "50 millis" })
      const chat = await sup.spawn({ provider: pool.provider(), model: "m" })
      iterator = chat.send("long")[Symbol.asyncIterator]()
      await iterator.next()
    }
    // what was buffered before the cut, then the typed error
    const rest = async () => {
      for (;;) if ((await iterator!.next()).done) return
    }
    await expect(rest()).rejects.toBeInstanceOf(SessionError.SessionStopped)
  })

  it("bad make options reject with InvalidOptions", async () => {
    await expect(startSupervisor({ maxConcurrentStreams: 0 })).rejects.toBeInstanceOf(SupervisorError.InvalidOptions)
  })
})
