import { timeouts } from "@streamvisor/core"

const events = provider.stream(request).pipe(timeouts({ firstToken: "10 seconds", idle: 5_000, total: "2 minutes" }))
export {}
