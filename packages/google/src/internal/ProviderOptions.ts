/**
 * `providerOptions.google`: merged into the request body last, so the user
 * has the last word on anything we map and can reach what we do not (`topP`,
 * `seed`, `safetySettings`, `cachedContent`, `labels`…).
 *
 * @internal
 */
import type { GenerateContentBody } from "./Request.js"

type Json = Record<string, unknown>

const isRecord = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/**
 * The `generationConfig` fields, so that `providerOptions.google.topP` (the
 * flat form) lands in `generationConfig` like `generationConfig.topP` does.
 *
 * @internal
 */
export const generationConfigFields: ReadonlySet<string> = new Set([
  "candidateCount",
  "stopSequences",
  "maxOutputTokens",
  "temperature",
  "topP",
  "topK",
  "seed",
  "presencePenalty",
  "frequencyPenalty",
  "responseLogprobs",
  "logprobs",
  "responseMimeType",
  "responseSchema",
  "responseJsonSchema",
  "responseModalities",
  "speechConfig",
  "imageConfig",
  "mediaResolution",
  "thinkingConfig",
  "enableEnhancedCivicAnswers"
])

const deepMerge = (target: Json, source: Json): Json => {
  const out: Json = { ...target }
  for (const key of Object.keys(source)) {
    const next = source[key]
    const prev = out[key]
    out[key] = isRecord(next) && isRecord(prev) ? deepMerge(prev, next) : next
  }
  return out
}

/**
 * Merge `providerOptions.google` into the body, the user having the last
 * word: objects merge key by key (so `generationConfig: { topP }` keeps our
 * `maxOutputTokens`), anything else replaces. A `generationConfig` field given
 * at the top level (`{ topP: 0.9, seed: 1 }`) goes into `generationConfig`.
 *
 * @internal
 */
export const mergeProviderOptions = (body: GenerateContentBody, options: Json): GenerateContentBody => {
  const top: Json = {}
  let config: Json | undefined
  for (const key of Object.keys(options)) {
    if (generationConfigFields.has(key)) (config ??= {})[key] = options[key]
    else top[key] = options[key]
  }
  const merged = deepMerge(body, top) as GenerateContentBody
  if (config !== undefined) {
    merged.generationConfig = deepMerge(isRecord(merged.generationConfig) ? merged.generationConfig : {}, config)
  }
  return merged
}
