/**
 * AdapterKit.keyOf: a key is required unless the options bring a ready-made
 * client. AdapterKit.optional: the setting an adapter's `defaultConfig` may leave
 * out reads as `undefined` when its variable is unset, as its value when set,
 * and a malformed value is still a `ConfigError` (not silently dropped).
 */
import { AdapterKit, InvalidOptions } from "@streamvisor/core"
import { Config, ConfigProvider, Effect, Either, Redacted } from "effect"
import { describe, expect, it } from "vitest"

const read = <A>(config: Config.Config<A>, env: Record<string, string>) =>
  Effect.runSync(Effect.either(Effect.withConfigProvider(config, ConfigProvider.fromMap(new Map(Object.entries(env))))))

describe("AdapterKit.optional", () => {
  it("unset: undefined, so the option is left out", () => {
    expect(read(AdapterKit.optional(Config.string("BASE_URL")), {})).toEqual(Either.right(undefined))
  })

  it("set: its value, a redacted one still redacted", () => {
    expect(read(AdapterKit.optional(Config.string("BASE_URL")), { BASE_URL: "http://h" })).toEqual(Either.right("http://h"))
    const key = read(AdapterKit.optional(Config.redacted("KEY")), { KEY: "sk-1" })
    expect(Either.isRight(key) && key.right !== undefined && Redacted.value(key.right)).toBe("sk-1")
    expect(String(Either.getOrThrow(key))).not.toContain("sk-1")
  })

  it("set but malformed: a ConfigError", () => {
    const port = read(AdapterKit.optional(Config.integer("PORT")), { PORT: "eighty" })
    expect(Either.isLeft(port)).toBe(true)
  })
})

describe("AdapterKit.keyOf", () => {
  const thrown = (f: () => unknown): unknown => {
    try {
      f()
    } catch (error) {
      return error
    }
    return undefined
  }

  it("no client: the key is required, as Redacted", () => {
    expect(Redacted.value(AdapterKit.keyOf("acme", { apiKey: "sk-1" })!)).toBe("sk-1")
    for (const apiKey of [undefined, "", "  "]) {
      const error = thrown(() => AdapterKit.keyOf("acme", { apiKey }))
      expect(InvalidOptions.isInvalidOptions(error)).toBe(true)
      expect(error).toMatchObject({ provider: "acme", option: "apiKey" })
    }
  })

  it("a ready-made client: no key needed; one given is kept, redacted, for the scrub", () => {
    expect(AdapterKit.keyOf("acme", { client: {} })).toBeUndefined()
    const key = AdapterKit.keyOf("acme", { client: {}, apiKey: Redacted.make("sk-2") })
    expect(key !== undefined && Redacted.value(key)).toBe("sk-2")
  })
})

describe("AdapterKit.callIds", () => {
  it("numbers a stream's calls under a tag of its own, so a conversation's ids never repeat", () => {
    const streams = Array.from({ length: 200 }, () => AdapterKit.callIds())
    const first = streams[0]!
    expect(first(0)).toMatch(/^call_0_[a-z0-9]{6}$/)
    expect(first(1)).toBe(first(0).replace(/^call_0_/, "call_1_"))
    const ids = streams.flatMap((idOf) => [idOf(0), idOf(1)])
    expect(new Set(ids).size).toBe(ids.length)
  })
})
