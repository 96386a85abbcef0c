import { Anthropic } from "@streamvisor/anthropic"
import { InvalidOptions } from "@streamvisor/core"

try {
  Anthropic.make({ apiKey: "sk-ant-…", defaultMaxTokens: -1 })
} catch (error) {
  if (InvalidOptions.isInvalidOptions(error)) console.error(error.option, error.message)
}
export {}
