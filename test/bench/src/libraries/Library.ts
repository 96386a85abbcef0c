/**
 * What every compared library provides to the benchmarks: one client per wire
 * format, consumed the way that library's users write it.
 */
import type { Urls } from "../ServerClient.js"

export type WireFormat = "anthropic" | "openai-chat" | "openai-responses" | "gemini" | "ollama"

export const wireFormats: ReadonlyArray<WireFormat> = [
  "anthropic",
  "openai-chat",
  "openai-responses",
  "gemini",
  "ollama"
]

export type LibraryName =
  | "raw SDK"
  | "streamvisor"
  | "streamvisor (promise)"
  | "streamvisor (sdk transport)"
  | "Vercel AI SDK"
  | "@effect/ai"
  | "bytes-only floor"

/** A stream a consumer stopped reading without cutting: holds everything that keeps it alive. */
export interface Held {
  /** Whatever the consumer kept (the iterator, a scope…); dropping the `Held` drops it. */
  readonly keep: unknown
}

export interface Client {
  /**
   * Read the whole answer; resolves with the number of text deltas seen.
   * `onFirstText` runs once, at the first text delta.
   */
  readAll(model: string, onFirstText?: () => void): Promise<number>
  /**
   * Read `n` text deltas, then stop the library's idiomatic way (`break`,
   * abort, `Fiber.interrupt`). Resolves with the time (`Clock.now`) at which
   * the consumer decided to stop, once the stop returned.
   */
  cutAfter?(model: string, n: number): Promise<number>
  /**
   * Like `cutAfter` with a plain `break` where the idiomatic stop is more
   * than that (the Vercel AI SDK's is `abortSignal` plus `break`). Defaults
   * to `cutAfter`.
   */
  breakAfter?(model: string, n: number): Promise<number>
  /** Read `n` text deltas, then stop reading without cutting anything. */
  stopAfter?(model: string, n: number): Promise<Held>
}

export interface Library {
  readonly name: LibraryName
  /** A client for `format`, or why there is none (reported as n/a). */
  client(format: WireFormat, urls: Urls): Client | string
}

/** The prompt every client sends. */
export const PROMPT = "Hi"
export const API_KEY = "sk-bench"
