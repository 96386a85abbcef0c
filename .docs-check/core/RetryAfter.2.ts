import { RetryAfter } from "@streamvisor/core"

const headers = new Headers({ "retry-after": "7" })
RetryAfter.fromHeaders((name) => headers.get(name)) // Duration.seconds(7)
export {}
