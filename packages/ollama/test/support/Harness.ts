/**
 * Test helpers: an Ollama provider over an `HttpClient` whose connection pool
 * the test owns (`FetchHttpClient` with the global `fetch` bound to a
 * dedicated undici `Agent`, so `open === 0` can be asserted after closing
 * it), a fresh ledger, and the checks every scenario ends with.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import type { Provider } from "@streamvisor/core"
import { Ledger } from "@streamvisor/core"
import { FakeLlmServer } from "@streamvisor/testkit"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import { Agent, buildConnector } from "undici"
import { afterEach, beforeAll, expect } from "vitest"
import { Ollama } from "../../src/index.js"

export const SECRET = "sk-SECRET-KEY-1234567890"

export interface Harness {
  readonly provider: Provider.Provider
  readonly httpClient: HttpClient.HttpClient
  readonly agent: Agent
  readonly ledger: Ledger.Service
  /** Sockets this client's pool has opened. */
  readonly connections: () => number
}

/** An `HttpClient` over the global `fetch` with its own undici `Agent`. */
export const pooledClient = () => {
  let connections = 0
  const connector = buildConnector({})
  const agent = new Agent({
    keepAliveTimeout: 30_000,
    connect: (opts, callback) => {
      connections++
      return connector(opts, callback)
    }
  })
  const httpClient = Effect.runSync(
    Effect.provide(
      HttpClient.HttpClient,
      FetchHttpClient.layer.pipe(
        Layer.provide(Layer.succeed(FetchHttpClient.RequestInit, { dispatcher: agent } as RequestInit))
      )
    )
  )
  return { httpClient, agent, connections: () => connections }
}

export const harness = (
  server: FakeLlmServer.Server,
  options: Omit<Ollama.Options, "httpClient"> = {}
): Harness => {
  const { agent, connections, httpClient } = pooledClient()
  // STREAMVISOR_TRANSPORT=sdk runs the suite over the `HttpClient` path; by
  // default it runs over the byte path (plain `fetch`), on the same pool.
  const transport = process.env.STREAMVISOR_TRANSPORT === "sdk"
    ? { httpClient }
    : { fetch: ((input, init) => fetch(input, { ...init, dispatcher: agent } as RequestInit)) as typeof fetch }
  return {
    provider: Ollama.make({ host: server.baseUrls.ollama, apiKey: SECRET, ...options, ...transport }),
    httpClient,
    agent,
    ledger: Ledger.make(),
    connections
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
  expect(h.ledger.snapshot().opened).toBe(h.ledger.snapshot().released)
  await bounded(h.agent.close(), 2000, "agent.close()")
  await server.waitFor((s) => s.open === 0, { timeoutMs: 2000, message: "open sockets" })
}

/** Every unhandled rejection of the process, to assert there was none. */
export const unhandled: Array<unknown> = []
process.on("unhandledRejection", (reason) => {
  unhandled.push(reason)
})

export const user = (content = "Hi") => [{ role: "user" as const, content }]

/** The test file's FakeLlmServer, started by the `beforeAll` of {@link useFakeServer}. */
export let server: FakeLlmServer.Server

/**
 * One FakeLlmServer for the test file: started before its tests, closed after
 * them, and after each test reset, with no unhandled rejection allowed.
 */
export const useFakeServer = (): void => {
  beforeAll(async () => {
    server = await FakeLlmServer.start()
    return () => server.close()
  })
  afterEach(() => {
    server.reset()
    expect(unhandled).toEqual([])
  })
}
