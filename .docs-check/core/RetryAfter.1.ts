import { LlmError, RetryAfter } from "@streamvisor/core"

const rateLimited = (response: Response) =>
  new LlmError.RateLimited({
    provider: "acme",
    retryAfter: RetryAfter.fromHeaders((name) => response.headers.get(name))
  })
export {}
