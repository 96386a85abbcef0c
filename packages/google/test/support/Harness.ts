/**
 * Shared set-up of the end-to-end suites: one FakeLlmServer per file, a fresh
 * undici `Agent` per test installed as the global dispatcher (the Gemini SDK
 * calls the global `fetch` and takes no dispatcher of its own), a fresh
 * ledger, and after every test the invariants every suite leans on:
 * server `inflight` = 0, ledger live = 0, no double release, `open` = 0 once
 * the agent (the client's pool) is closed, no unhandled rejection.
 */
import { Ledger, type Provider } from "@streamvisor/core"
import { FakeLlmServer } from "@streamvisor/testkit"
import { Agent, getGlobalDispatcher, setGlobalDispatcher } from "undici"
import { afterAll, afterEach, beforeAll, beforeEach, expect } from "vitest"
import { Google } from "../../src/index.js"

/** `STREAMVISOR_TRANSPORT=sdk` runs this suite over the SDK's own parser; the byte path is the default. */
const TRANSPORT = process.env.STREAMVISOR_TRANSPORT === "sdk" ? "sdk" as const : "bytes" as const

export const KEY = "sk-SECRET-KEY-1234567890"

/** Every unhandled rejection of the test process (the SDK's `response` promise is the usual suspect). */
export const unhandled: Array<unknown> = []
process.on("unhandledRejection", (reason) => {
  unhandled.push(reason)
})

/** Let pending promise rejections surface: Node reports them after the microtask queue drains. */
export const flushRejections = async (): Promise<void> => {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve))
}

export interface Harness {
  server: FakeLlmServer.Server
  agent: Agent
  /** Sockets the agent opened in this test. */
  connects: number
  ledger: Ledger.Service
  provider: Provider.Provider
}

const withTimeout = <A>(promise: Promise<A>, ms: number, what: string): Promise<A> =>
  new Promise<A>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)
    promise.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error) => {
        clearTimeout(timer)
        reject(error)
      }
    )
  })

/** Waits until the ledger has no live stream. */
export const ledgerIdle = (ledger: Ledger.Service, ms = 2000): Promise<void> =>
  withTimeout(new Promise<void>((resolve) => ledger.onNoneLive(resolve)), ms, "ledger still has live streams")

/**
 * Installs the per-file server and per-test agent, ledger and provider, and
 * checks the invariants after each test (a failing invariant fails that test).
 */
export const harness = (
  options: {
    readonly checkInvariants?: boolean
    /** The adapter under test, given the server's Gemini base URL (default `Google.make`). */
    readonly make?: (baseURL: string) => Provider.Provider
  } = {}
): Harness => {
  const h = { connects: 0 } as Harness
  let previous: ReturnType<typeof getGlobalDispatcher> | undefined
  beforeAll(async () => {
    previous = getGlobalDispatcher()
    h.server = await FakeLlmServer.start()
  })
  afterAll(async () => {
    await h.server.close()
    if (previous !== undefined) setGlobalDispatcher(previous)
  })
  beforeEach(async () => {
    h.server.reset()
    await h.server.closeIdleSockets()
    h.connects = 0
    h.agent = new Agent()
    h.agent.on("connect", () => {
      h.connects++
    })
    setGlobalDispatcher(h.agent)
    h.ledger = Ledger.make()
    h.provider = options.make !== undefined
      ? options.make(h.server.baseUrls.gemini)
      : Google.make({ apiKey: KEY, baseURL: h.server.baseUrls.gemini, transport: TRANSPORT })
    unhandled.length = 0
  })
  afterEach(async () => {
    const agent = h.agent
    try {
      if (options.checkInvariants === false) return
      await h.server.waitForIdle({ timeoutMs: 2000 })
      await ledgerIdle(h.ledger)
      expect(h.ledger.snapshot().live).toEqual([])
      expect(h.ledger.doubleReleases()).toBe(0)
      await withTimeout(agent.close(), 2000, "agent.close()")
      await h.server.waitFor((s) => s.open === 0, { timeoutMs: 2000, message: "sockets still open" })
      await flushRejections()
      expect(unhandled).toEqual([])
    } finally {
      if (!agent.closed) await agent.destroy()
    }
  })
  return h
}
