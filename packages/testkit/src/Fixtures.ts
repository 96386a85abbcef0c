/**
 * Recorded real provider streams, loadable as data or as replay scripts for {@link FakeLlmServer}:
 * payload lines (`fixtures/recorded/`) and whole response bodies (`fixtures/replay/`), each with
 * its `PROVENANCE.md`.
 *
 * @since 0.1.0
 */
import * as fs from "node:fs"
import type { WireFormat } from "./FakeLlmServer.js"
import { type Pieces, type Replay, replay, replayBody } from "./Script.js"

/** Fixture folders: one per wire format (`google` is the Gemini format). */
export type Format = "anthropic" | "openai-chat" | "openai-responses" | "google" | "ollama"

/** Every fixture format. */
export const formats: ReadonlyArray<Format> = ["anthropic", "openai-chat", "openai-responses", "google", "ollama"]

/** What reading a fixture's chunks must yield (conventions in PROVENANCE.md). */
export interface Expected {
  /** Visible answer text, concatenated. */
  readonly text: string
  /** Reasoning text, concatenated, or null when there is none. */
  readonly reasoning: string | null
  /** Tool calls in stream order, arguments parsed (empty arguments are `{}`). */
  readonly toolCalls: ReadonlyArray<{ readonly name: string; readonly arguments: unknown }>
  /** The raw provider finish value, or null when never reported. */
  readonly finishReason: string | null
  /** The values the provider last reported (null when never reported). */
  readonly usage: { readonly inputTokens: number | null; readonly outputTokens: number | null }
}

/** A loaded fixture. */
export interface Fixture {
  readonly format: Format
  readonly name: string
  /** Raw payload lines, byte for byte (one SSE `data:` payload or one NDJSON line each). */
  readonly chunks: Array<string>
  readonly expected: Expected
}

/** The fixture directory (works from `src/` and `dist/`, both one level under the package). */
export const directory: URL = new URL("../fixtures/recorded/", import.meta.url)

const CHUNKS = ".chunks.jsonl"

/** The server wire format a fixture format is replayed as. */
export const wireFormat = (format: Format): Exclude<WireFormat, "unknown"> => (format === "google" ? "gemini" : format)

/** Is this a fixture format? */
export const isFormat = (value: string): value is Format => (formats as ReadonlyArray<string>).includes(value)

/** Every fixture, sorted by format then name. */
export const list = (): Array<{ readonly format: Format; readonly name: string }> => {
  const out: Array<{ format: Format; name: string }> = []
  for (const format of formats) {
    let files: Array<string>
    try {
      files = fs.readdirSync(new URL(`${format}/`, directory))
    } catch {
      continue
    }
    for (const file of files.sort()) {
      if (file.endsWith(CHUNKS)) out.push({ format, name: file.slice(0, -CHUNKS.length) })
    }
  }
  return out
}

/** Splits a fixture file into payload lines, keeping every byte of each line. */
export const splitLines = (content: string): Array<string> => content.split("\n").filter((line) => line.length > 0)

/** Loads a fixture; throws an Error naming the available fixtures when it does not exist. */
export const load = (format: Format, name: string): Fixture => {
  if (!isFormat(format) || !/^[\w.-]+$/.test(name)) throw new Error(`unknown fixture ${format}/${name}`)
  let chunksText: string
  let expectedText: string
  try {
    chunksText = fs.readFileSync(new URL(`${format}/${name}${CHUNKS}`, directory), "utf8")
    expectedText = fs.readFileSync(new URL(`${format}/${name}.expected.json`, directory), "utf8")
  } catch {
    const available = list()
      .map((f) => `${f.format}/${f.name}`)
      .join(", ")
    throw new Error(`unknown fixture ${format}/${name} (available: ${available})`)
  }
  return { format, name, chunks: splitLines(chunksText), expected: JSON.parse(expectedText) as Expected }
}

/** Parses `"<format>/<name>"` (as the standalone server's `--fixture` takes it). */
export const parseId = (id: string): { readonly format: Format; readonly name: string } => {
  const slash = id.indexOf("/")
  const format = slash < 0 ? id : id.slice(0, slash)
  const name = slash < 0 ? "" : id.slice(slash + 1)
  const normalized = format === "gemini" ? "google" : format
  if (!isFormat(normalized) || name === "") {
    throw new Error(`invalid fixture id "${id}": expected <format>/<name> with format one of ${formats.join(", ")}`)
  }
  return { format: normalized, name }
}

/** A replay script of a fixture's chunks. */
export const script = (format: Format, name: string, options?: Omit<Replay, "replay">): Replay =>
  replay(load(format, name).chunks, options)

// ---------------------------------------------------------------------------------------------
// Whole response bodies (`fixtures/replay/`)
// ---------------------------------------------------------------------------------------------

/** The directory of whole recorded bodies (works from `src/` and `dist/`). */
export const bodyDirectory: URL = new URL("../fixtures/replay/", import.meta.url)

/** A finish reason in the library's vocabulary. */
export type Finish = "stop" | "length" | "tool_calls" | "content_filter" | "other"

/** What replaying a body must yield (fields in `fixtures/replay/PROVENANCE.md`). */
export interface BodyExpectation {
  readonly format: Format
  /** The request's model; routes the replay. */
  readonly model: string
  readonly http: { readonly status: number; readonly contentType: string }
  readonly text: string
  readonly toolCalls: ReadonlyArray<{ readonly name: string; readonly arguments: unknown }>
  /** The accepted finish reason(s), or null when the stream must fail. */
  readonly finish: Finish | ReadonlyArray<Finish> | null
  /** The accepted `LlmError` tag(s); with `finish` set too, either outcome passes. */
  readonly error: string | ReadonlyArray<string> | null
  readonly reasoning: string | null
  /** The provider's own finish value. */
  readonly raw: string | null
  /** The judgement calls behind the expectation. */
  readonly notes: string
}

/** A whole recorded body and its expectation. */
export interface Body {
  readonly format: Format
  readonly name: string
  /** The response body, byte for byte. */
  readonly body: Uint8Array
  readonly expect: BodyExpectation
}

const EXPECT = ".expect.json"

/** Every recorded body, sorted by format then name. */
export const bodies = (): Array<{ readonly format: Format; readonly name: string }> => {
  const out: Array<{ format: Format; name: string }> = []
  for (const format of formats) {
    let files: Array<string>
    try {
      files = fs.readdirSync(new URL(`${format}/`, bodyDirectory))
    } catch {
      continue
    }
    for (const file of files.sort()) {
      if (file.endsWith(EXPECT)) out.push({ format, name: file.slice(0, -EXPECT.length) })
    }
  }
  return out
}

/** Loads a recorded body (`.sse` or `.ndjson`) and its expectation; throws on an unknown one. */
export const loadBody = (format: Format, name: string): Body => {
  if (!isFormat(format) || !/^[\w.-]+$/.test(name)) throw new Error(`unknown recorded body ${format}/${name}`)
  const read = (suffix: string): Buffer | undefined => {
    try {
      return fs.readFileSync(new URL(`${format}/${name}${suffix}`, bodyDirectory))
    } catch {
      return undefined
    }
  }
  const expectText = read(EXPECT)
  const body = read(".sse") ?? read(".ndjson")
  if (expectText === undefined || body === undefined) {
    const available = bodies()
      .map((f) => `${f.format}/${f.name}`)
      .join(", ")
    throw new Error(`unknown recorded body ${format}/${name} (available: ${available})`)
  }
  return { format, name, body, expect: JSON.parse(expectText.toString("utf8")) as BodyExpectation }
}

/** A replay script of a recorded body, with its recorded status and content type, whole or in `pieces`. */
export const bodyScript = (
  format: Format,
  name: string,
  options?: { readonly pieces?: Pieces | undefined; readonly delayMs?: number | undefined }
): Replay => {
  const { body, expect } = loadBody(format, name)
  return replayBody(
    {
      body,
      status: expect.http.status,
      contentType: expect.http.contentType,
      ...(options?.pieces === undefined ? {} : { pieces: options.pieces })
    },
    options?.delayMs === undefined ? undefined : { delayMs: options.delayMs }
  )
}
