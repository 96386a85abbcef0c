/**
 * Recorded real provider streams (see `fixtures/recorded/PROVENANCE.md`), loadable as data or as
 * replay scripts for {@link FakeLlmServer}.
 *
 * @since 0.1.0
 */
import * as fs from "node:fs"
import type { WireFormat } from "./FakeLlmServer.js"
import { type Replay, replay } from "./Script.js"

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
