import { LlmError, Redaction, Transport } from "@streamvisor/core"

const classify = (cause: unknown, scrub: Redaction.Scrub): LlmError.LlmError =>
  Transport.isConnectionCut(cause)
    ? new LlmError.Disconnected({ provider: "acme", message: `acme: connection cut (${Transport.causeCode(cause) ?? "terminated"})` })
    : new LlmError.Unknown({ provider: "acme", cause: Redaction.sanitizeCause(cause, scrub) })
export {}
