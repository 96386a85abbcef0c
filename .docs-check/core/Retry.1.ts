import { retry, timeouts } from "@streamvisor/core"
import { Schedule } from "effect"

const events = provider.stream(request).pipe(
  timeouts({ firstToken: "10 seconds" }),
  retry({ times: 3, schedule: Schedule.exponential("500 millis") })
)
export {}
