/**
 * Test helpers: a provider over a client whose connection pool the test owns
 * (a dedicated undici Agent, so `open === 0` can be asserted after closing it),
 * a fresh ledger, and the checks every scenario ends with.
 */
import type { Provider } from "@streamvisor/core"
import { Ledger } from "@streamvisor/core"
import type { FakeLlmServer } from "@streamvisor/testkit"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import OpenAIClient from "openai"
import { Agent, buildConnector } from "undici"
import { expect } from "vitest"
import { OpenAI } from "../../src/index.js"

/** `STREAMVISOR_TRANSPORT=sdk` runs this suite over the SDK's own parser; the byte path is the default. */
const TRANSPORT = process.env.STREAMVISOR_TRANSPORT === "sdk" ? "sdk" as const : "bytes" as const

export const SECRET = "sk-SECRET-KEY-1234567890"

export type Api = "chat" | "responses"

export interface Harness {
  readonly provider: Provider.Provider
  readonly client: OpenAIClient
  readonly agent: Agent
  readonly ledger: Ledger.Service
  /** Sockets this client's pool has opened. */
  readonly connections: () => number
}

/** A provider over a client with its own undici Agent (global fetch, Node's bundled undici 6.x). */
export const harness = (server: FakeLlmServer.Server, api: Api, options: { readonly apiKey?: string } = {}): Harness => {
  let connections = 0
  const connector = buildConnector({})
  const agent = new Agent({
    keepAliveTimeout: 30_000,
    connect: (opts, callback) => {
      connections++
      return connector(opts, callback)
    }
  })
  const client = new OpenAIClient({
    apiKey: options.apiKey ?? SECRET,
    baseURL: server.baseUrls.openai,
    maxRetries: 0,
    fetchOptions: { dispatcher: agent } as never
  })
  return {
    provider: OpenAI.make({ client, api, transport: TRANSPORT }),
    client,
    agent,
    ledger: Ledger.make(),
    connections: () => connections
  }
}

/** Run an effect with the harness's ledger. */
export const run = <A, E>(h: Harness, effect: Effect.Effect<A, E>): Promise<Exit.Exit<A, E>> =>
  Effect.runPromiseExit(Effect.provideService(effect, Ledger.Ledger, h.ledger))

export const bounded = <A>(promise: Promise<A>, ms: number, what: string): Promise<A> => {
  let timer: ReturnType<typeof setTimeout> | undefined
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)
    })
  ]).finally(() => clearTimeout(timer))
}

/** A promise and the function that resolves it. */
export const latch = () => {
  let open!: () => void
  const promise = new Promise<void>((resolve) => {
    open = resolve
  })
  return { promise, open }
}

/**
 * After every scenario: no response in flight at the server, nothing live in
 * the ledger, no double release; then the pool is closed and every socket
 * must be gone.
 */
export const settle = async (server: FakeLlmServer.Server, h: Harness, inflightWithinMs = 2000): Promise<void> => {
  await server.waitFor((s) => s.inflight === 0, { timeoutMs: inflightWithinMs, message: "inflight" })
  await Effect.runPromise(Ledger.awaitNoneLive(2000).pipe(Effect.provideService(Ledger.Ledger, h.ledger)))
  expect(h.ledger.snapshot().live).toEqual([])
  expect(h.ledger.doubleReleases()).toBe(0)
  await bounded(h.agent.close(), 2000, "agent.close()")
  await server.waitFor((s) => s.open === 0, { timeoutMs: 2000, message: "open sockets" })
}

/** Every unhandled rejection of the process, to assert there was none. */
export const unhandled: Array<unknown> = []
process.on("unhandledRejection", (reason) => {
  unhandled.push(reason)
})
