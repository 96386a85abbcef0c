import { Redaction } from "@streamvisor/core"

const scrub = Redaction.makeScrub(() => [apiKey, client.apiKey])
scrub(`401 for Bearer ${apiKey}`) // "401 for <redacted>"

const cause = Redaction.sanitizeCause(thrown, scrub) // for `LlmError.Unknown`
const logger = Redaction.scrubbingLogger(scrub) // for the SDK's `logger` option
export {}
