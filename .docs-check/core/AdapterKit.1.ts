import { AdapterKit, Provider } from "@streamvisor/core"
import { Stream, Schema } from "effect"

const PROVIDER = "acme"
interface Options { readonly apiKey: AdapterKit.ApiKey; readonly maxTokens?: number }
const OptionsSchema = Schema.Struct({ maxTokens: Schema.optional(AdapterKit.PositiveInt) })

export const make = (options: Options): Provider.Provider => {
  AdapterKit.validate(PROVIDER, OptionsSchema, options)
  const apiKey = AdapterKit.requireKey(PROVIDER, options.apiKey)
  const scrub = AdapterKit.makeScrub(apiKey)
  const mapError = AdapterKit.mapError(PROVIDER, scrub, () => undefined)
  return Provider.make({ name: PROVIDER, stream: () => Stream.fail(mapError(new Error("not yet"))) })
}
export const layer = AdapterKit.layer(make)
export {}
