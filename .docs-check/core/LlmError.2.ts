import { LlmError } from "@streamvisor/core"

LlmError.fromStatus({ provider: "acme", status: 429 })._tag // "RateLimited"
LlmError.fromStatus({ provider: "acme", status: 503, type: "overloaded_error" })._tag // "Overloaded"
export {}
