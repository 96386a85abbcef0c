import { Supervisor } from "@streamvisor/supervisor"
import { Effect, pipe } from "effect"
import type { Provider } from "@streamvisor/core"

declare const supervisor: Supervisor.Supervisor
declare const openai: Provider.Provider

const session = pipe(
  supervisor,
  Supervisor.spawn({ id: "bob", provider: openai, model: "gpt-4.1-mini", system: "Be brief." })
)
export {}
