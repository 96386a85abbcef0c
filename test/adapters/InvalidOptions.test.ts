/**
 * The bad-configuration policy, the same for every adapter (core README,
 * "Adapter kit"): `make` throws `InvalidOptions` naming the provider and the
 * option, never the key; `layer` and `layerConfig` fail with it, typed (not a
 * defect). Nothing connects.
 */
import { Anthropic } from "@streamvisor/anthropic"
import { InvalidOptions, Provider } from "@streamvisor/core"
import { Google } from "@streamvisor/google"
import { Ollama } from "@streamvisor/ollama"
import { OpenAI } from "@streamvisor/openai"
import { ConfigProvider, Effect, Exit, Layer } from "effect"
import { describe, expect, it } from "vitest"

const KEY = "sk-SECRET-KEY-1234567890"

interface Case {
  readonly name: string
  readonly provider: string
  readonly option: string
  readonly make: () => unknown
  readonly layer: () => Layer.Layer<Provider.LlmProvider, unknown>
}

const cases: ReadonlyArray<Case> = [
  {
    name: "anthropic: no key, no client",
    provider: "anthropic",
    option: "apiKey",
    make: () => Anthropic.make({}),
    layer: () => Anthropic.layer({})
  },
  {
    name: "anthropic: defaultMaxTokens 0",
    provider: "anthropic",
    option: "defaultMaxTokens",
    make: () => Anthropic.make({ apiKey: KEY, defaultMaxTokens: 0 }),
    layer: () => Anthropic.layer({ apiKey: KEY, defaultMaxTokens: 0 })
  },
  {
    name: "openai: empty key",
    provider: "openai",
    option: "apiKey",
    make: () => OpenAI.make({ apiKey: "" }),
    layer: () => OpenAI.layer({ apiKey: "" })
  },
  {
    name: "openai: unknown api",
    provider: "openai",
    option: "api",
    make: () => OpenAI.make({ apiKey: KEY, api: "completions" as never }),
    layer: () => OpenAI.layer({ apiKey: KEY, api: "completions" as never })
  },
  {
    name: "google: no key, no client",
    provider: "google",
    option: "apiKey",
    make: () => Google.make({} as never),
    layer: () => Google.layer({} as never)
  },
  {
    name: "ollama: maxLineBytes -1",
    provider: "ollama",
    option: "maxLineBytes",
    make: () => Ollama.make({ apiKey: KEY, maxLineBytes: -1 }),
    layer: () => Ollama.layer({ apiKey: KEY, maxLineBytes: -1 })
  }
]

const thrown = (f: () => unknown): unknown => {
  try {
    f()
  } catch (error) {
    return error
  }
  throw new Error("expected make to throw")
}

describe("bad options, every adapter", () => {
  it.each(cases.map((c) => [c.name, c] as const))("%s: make throws InvalidOptions", (_, c) => {
    const error = thrown(c.make)
    expect(InvalidOptions.isInvalidOptions(error)).toBe(true)
    const invalid = error as InvalidOptions.InvalidOptions
    expect(invalid._tag).toBe("InvalidOptions")
    expect(invalid.provider).toBe(c.provider)
    expect(invalid.option).toBe(c.option)
    expect(invalid.message).toMatch(new RegExp(`^${c.provider}: .*${c.option}`))
    expect(invalid.message).not.toContain(KEY)
    expect(JSON.stringify(invalid)).not.toContain(KEY)
  })

  it.each(cases.map((c) => [c.name, c] as const))("%s: layer fails with it, typed", async (_, c) => {
    const exit = await Effect.runPromiseExit(Effect.provide(Provider.LlmProvider, c.layer()))
    expect(Exit.isFailure(exit)).toBe(true)
    if (Exit.isSuccess(exit)) return
    const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined // a typed failure, not a defect
    expect(InvalidOptions.isInvalidOptions(failure)).toBe(true)
    expect((failure as InvalidOptions.InvalidOptions).option).toBe(c.option)
  })

  it("layerConfig surfaces a bad configured value as InvalidOptions", async () => {
    const config = ConfigProvider.fromMap(new Map([["ANTHROPIC_API_KEY", KEY]]))
    const exit = await Effect.runPromiseExit(
      Effect.provide(Provider.LlmProvider, Anthropic.layerConfig({ defaultMaxTokens: undefined }).pipe(
        Layer.provide(Layer.setConfigProvider(config))
      ))
    )
    expect(Exit.isSuccess(exit)).toBe(true)
    const bad = await Effect.runPromiseExit(
      Effect.provide(
        Provider.LlmProvider,
        Anthropic.layerConfig({ defaultMaxTokens: 0 }).pipe(Layer.provide(Layer.setConfigProvider(config)))
      )
    )
    expect(Exit.isFailure(bad) && bad.cause._tag === "Fail" && bad.cause.error._tag).toBe("InvalidOptions")
  })

  it("Ollama needs no key; a ready-made client needs none either", () => {
    expect(Ollama.make().name).toBe("ollama")
    expect(Anthropic.make({ client: {} as never }).name).toBe("anthropic")
  })
})
