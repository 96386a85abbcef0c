import { Provider, StreamEvent } from "@streamvisor/core"
import { Stream } from "effect"

const echo = Provider.make({
  name: "echo",
  stream: (request) =>
    Stream.make(
      StreamEvent.textDelta(request.messages.at(-1)!.content),
      StreamEvent.finish("stop", "stop")
    )
})
export {}
