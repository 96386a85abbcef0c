import { acquire } from "@streamvisor/core"
import { Stream } from "effect"

const lines = acquire({
  provider: "example",
  model: "none",
  open: async (signal) => {
    const response = await fetch("http://127.0.0.1:8080/api/chat", { method: "POST", signal })
    return response.body!
  }
})
const firstTwo = Stream.runCollect(Stream.take(lines, 2)) // the connection is closed after two
export {}
