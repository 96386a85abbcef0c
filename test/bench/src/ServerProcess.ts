/**
 * The server child: runs one FakeLlmServer in its own process, so that
 * rendering frames never runs on the event loop being measured, and answers
 * the bench's commands over IPC. Start it with `fork` (see `ServerClient.ts`).
 */
import { FakeLlmServer, Script } from "@streamvisor/testkit"
import { fromPerformance } from "./Clock.js"
import type { Closed, Event, Inflight, Reply, Request, ScriptSpec } from "./Protocol.js"

const send = (message: Reply | Event): void => {
  process.send?.(message)
}

/** Events by stream length, built once (100k events take a moment). */
const cache = new Map<number, ReadonlyArray<Script.ScriptEvent>>()
const toScript = (spec: ScriptSpec): Script.Script => {
  let events = cache.get(spec.deltas)
  if (events === undefined) cache.set(spec.deltas, events = Script.text(spec.deltas).events ?? [])
  return Script.make(events, {
    ...(spec.delayMs === undefined ? {} : { delayMs: spec.delayMs }),
    ...(spec.firstDelayMs === undefined ? {} : { firstDelayMs: spec.firstDelayMs })
  })
}

// Idle sockets stay open a minute: a client whose event loop was blocked for
// seconds (the slow libraries are) must not reuse a socket the server just
// closed ("other side closed"); the clients' own pools expire them sooner.
const server = await FakeLlmServer.start({ script: toScript({ deltas: 5 }), keepAliveTimeout: 60_000 })

/** Request id → model, for attributing closes to the run that opened them. */
const modelOf = (id: number): string | undefined => {
  const requests = server.requests
  for (let i = requests.length - 1; i >= 0; i--) if (requests[i].id === id) return requests[i].model
  return undefined
}

server.onResponseClosed((info) => {
  const closed: Closed = {
    type: "closed",
    id: info.id,
    model: modelOf(info.id),
    format: info.format,
    byClient: info.byClient,
    completed: info.completed,
    startedAt: fromPerformance(info.startedAt),
    closedAt: fromPerformance(info.closedAt),
    bytesWritten: info.bytesWritten
  }
  send(closed)
})

const handle = async (request: Request): Promise<Reply> => {
  switch (request.type) {
    case "setScript":
      server.setScript(toScript(request.script))
      return { id: request.id, ok: true }
    case "scriptFor":
      server.scriptFor(request.model, toScript(request.script))
      return { id: request.id, ok: true }
    case "stats":
      return { id: request.id, ok: true, stats: server.stats() }
    case "inflight": {
      const inflight: Array<Inflight> = server.inflightResponses().map((r) => ({
        id: r.id,
        format: r.format,
        model: r.model,
        bytesWritten: r.bytesWritten
      }))
      return { id: request.id, ok: true, inflight }
    }
    case "reset":
      server.reset()
      return { id: request.id, ok: true }
    case "waitForIdle":
      return { id: request.id, ok: true, stats: await server.waitForIdle({ timeoutMs: request.timeoutMs }) }
    case "closeIdleSockets":
      await server.closeIdleSockets()
      return { id: request.id, ok: true }
    case "close":
      await server.close()
      return { id: request.id, ok: true }
  }
}

process.on("message", (request: Request) => {
  handle(request).then(send, (cause: unknown) =>
    send({ id: request.id, ok: false, error: cause instanceof Error ? cause.message : String(cause) })
  )
})

// The bench went away (or is done): stop serving and let the process end.
process.on("disconnect", () => {
  void server.close()
})

send({ type: "ready", url: server.url })
