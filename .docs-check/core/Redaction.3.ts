import { LlmError, Redaction } from "@streamvisor/core"

const unknown = (cause: unknown, scrub: Redaction.Scrub) =>
  new LlmError.Unknown({ provider: "acme", message: scrub(String(cause)), cause: Redaction.sanitizeCause(cause, scrub) })
export {}
