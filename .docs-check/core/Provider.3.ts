import { fallback, Provider } from "@streamvisor/core"

declare const claude: Provider.Provider
declare const gpt: Provider.Provider
const resilient = fallback([
  Provider.withModel(claude, "claude-sonnet-4-5"),
  Provider.withModel(gpt, "gpt-4.1")
])
export {}
