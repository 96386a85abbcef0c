import { Provider } from "@streamvisor/core"
import { pipe } from "effect"

declare const claude: Provider.Provider
const events = pipe(claude, Provider.stream({ model: "claude-sonnet-4-5", messages: [{ role: "user", content: "Hi" }] }))
export {}
