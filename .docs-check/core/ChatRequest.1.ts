import { ChatRequest } from "@streamvisor/core"
import { Effect } from "effect"

const program = ChatRequest.decode("anthropic", { model: "", messages: [] })
// fails with InvalidRequest: "anthropic: invalid ChatRequest: ... model must not be empty ..."
export {}
