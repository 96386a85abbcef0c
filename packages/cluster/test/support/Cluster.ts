/**
 * Shared by the cluster suites: the real Ollama adapter over a connection
 * pool the test owns (so it can be closed and the server's sockets counted),
 * and the user's last message in a request FakeLlmServer recorded.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import type { Provider } from "@streamvisor/core"
import { Ollama } from "@streamvisor/ollama"
import type { FakeLlmServer } from "@streamvisor/testkit"
import { Effect, Layer } from "effect"
import { Agent } from "undici"

export interface Pool {
  readonly agent: Agent
  readonly provider: () => Provider.Provider
}

/** A fresh pool on `server`; close it with `agent.close()`. */
export const pool = (server: FakeLlmServer.Server): Pool => {
  const agent = new Agent()
  const httpClient = Effect.runSync(
    Effect.provide(
      HttpClient.HttpClient,
      FetchHttpClient.layer.pipe(
        Layer.provide(Layer.succeed(FetchHttpClient.RequestInit, { dispatcher: agent } as RequestInit))
      )
    )
  )
  return { agent, provider: () => Ollama.make({ host: server.baseUrls.ollama, httpClient }) }
}

export const lastUser = (request: FakeLlmServer.RecordedRequest): string => {
  const messages = (request.body as { messages: Array<{ content: string }> }).messages
  return messages[messages.length - 1].content
}
