import { LlmError } from "@streamvisor/core"
import { Duration, Schema } from "effect"

const error = new LlmError.RateLimited({ provider: "openai", retryAfter: Duration.seconds(2) })
const wire = Schema.encodeSync(LlmError.LlmError)(error)
// { _tag: "RateLimited", provider: "openai", message: "openai: rate limited", retryAfter: 2000 }
const back = Schema.decodeUnknownSync(LlmError.LlmError)(wire)
LlmError.isLlmError(back) // true
export {}
