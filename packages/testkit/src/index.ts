/**
 * `@streamvisor/testkit`: a wire-level fake of the Anthropic, OpenAI, Gemini and Ollama streaming
 * APIs for end-to-end and leak tests, plus the recorded real streams it can replay.
 *
 * @since 0.1.0
 */

/** The fake server: start, scripts, accounting (`stats`, `waitFor`), Effect layer. */
export * as FakeLlmServer from "./FakeLlmServer.js"

/** Scripts the server plays: events, delays, usage, finish reason, faults, replays. */
export * as Script from "./Script.js"

/** Provider-style request checks: the provider's own 400 when a request breaks its rules. */
export * as RequestCheck from "./RequestCheck.js"

/** Recorded real provider streams, as data or replay scripts. */
export * as Fixtures from "./Fixtures.js"

/** fast-check arbitraries of scripts, events and faults. */
export * as Arbitraries from "./Arbitraries.js"

/** Leak assertions: nothing in flight, every response ended exactly once. */
export * as LeakCheck from "./LeakCheck.js"
