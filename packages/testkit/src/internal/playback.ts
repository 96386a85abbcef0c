/**
 * Plays a script onto one HTTP response: headers, frames, delays, faults. Frames are coalesced
 * into writes of up to 64 KiB, and writing waits for `drain` whenever the socket pushes back.
 */
import type { ServerResponse } from "node:http"
import {
  cuts,
  eventsOf,
  finishReasonOf,
  isRawBody,
  isReplay,
  type Fault,
  type RawBody,
  type Replay,
  type Script,
  type Scripted,
  type ScriptEvent,
  usageOf
} from "../Script.js"
import type { RenderContext, StreamRenderer, Wire } from "./wire/types.js"

/** The lifetime of one response, as the server tracks it. */
export interface Life {
  /** The response closed (finished or cut). */
  readonly closed: boolean
  /** Resolves true after `ms`, or false as soon as the response closes. */
  sleep(ms: number): Promise<boolean>
  /** Resolves true once the response can take more data, false if it closes first. */
  drain(): Promise<boolean>
  /** Runs `f` every `ms` until the response closes. */
  every(ms: number, f: () => void): void
  /** Destroys the socket, counting the cut as the server's. */
  cut(): void
}

/** Everything needed to play one script onto one response. */
export interface PlayInput {
  readonly id: number
  readonly script: Script
  readonly wire: Wire
  readonly streaming: boolean
  readonly model: string
  readonly body: unknown
  readonly res: ServerResponse
  readonly life: Life
  /** Told which issued output items require which reasoning item (for request checks). */
  readonly requireReasoning?: (itemId: string, reasoningId: string) => void
}

const BATCH = 64 * 1024

class Writer {
  private buffer = ""
  /** Something (headers at least) went to the socket. `res.headersSent` is true right after `writeHead`. */
  private started = false
  constructor(
    private readonly res: ServerResponse,
    private readonly life: Life
  ) {}

  get size(): number {
    return this.buffer.length
  }

  push(data: string): void {
    this.buffer += data
  }

  /** Writes what is buffered; resolves false if the response closed. */
  async flush(): Promise<boolean> {
    if (this.life.closed) return false
    if (this.buffer.length === 0) {
      this.flushHeaders()
      return true
    }
    const data = this.buffer
    this.buffer = ""
    this.started = true
    if (!this.res.write(data)) return this.life.drain()
    return !this.life.closed
  }

  /** Writes what is buffered and resolves once it reached the socket (or the response closed). */
  flushed(): Promise<boolean> {
    if (this.life.closed) return Promise.resolve(false)
    const data = this.buffer
    this.buffer = ""
    if (data.length === 0) {
      this.flushHeaders()
      return Promise.resolve(true)
    }
    this.started = true
    return new Promise((resolve) => {
      this.res.write(data, (error) => resolve(error == null && !this.life.closed))
    })
  }

  private flushHeaders(): void {
    if (this.started) return
    this.started = true
    this.res.flushHeaders()
  }

  end(): void {
    if (this.life.closed) return
    const data = this.buffer
    this.buffer = ""
    if (data.length === 0) this.res.end()
    else this.res.end(data)
  }
}

const baseHeaders = (id: number, script: Script): Record<string, string> => ({
  "x-request-id": `req_fake_${id}`,
  ...(script.keepAlive === false ? { connection: "close" } : {})
})

const json = (value: unknown): string => (typeof value === "string" ? value : JSON.stringify(value))

const afterEvents = (fault: Fault | undefined): number | undefined =>
  fault !== undefined && "afterEvents" in fault ? Math.max(0, Math.floor(fault.afterEvents)) : undefined

const context = (input: PlayInput, script: Scripted | undefined, seqStart?: number): RenderContext => ({
  id: input.id,
  model: input.model,
  usage: script === undefined ? { inputTokens: 0, outputTokens: 0 } : usageOf(script),
  finishReason: script === undefined ? "stop" : finishReasonOf(script),
  body: input.body,
  created: Math.floor(Date.now() / 1000),
  events: script === undefined ? [] : eventsOf(script),
  ...(input.requireReasoning === undefined ? {} : { requireReasoning: input.requireReasoning }),
  ...(seqStart === undefined ? {} : { seqStart })
})

/** Plays `input.script`; resolves when the response ended, was cut, or was left hanging on purpose. */
export const play = async (input: PlayInput): Promise<void> => {
  const { script, wire, res } = input
  const fault = script.fault
  const headers = baseHeaders(input.id, script)

  if (fault?.type === "hangBeforeHeaders") return
  if (fault?.type === "status") {
    const body = fault.body === undefined ? wire.errorBody(fault.status, fault.headers ?? {}) : fault.body
    res.writeHead(fault.status, { ...headers, "content-type": "application/json", ...fault.headers })
    res.end(json(body))
    return
  }

  if (isReplay(script)) {
    const replay = script.replay
    if (isRawBody(replay)) return rawBody(input, headers, replay, script.delayMs ?? 0)
    return stream(input, headers, replaySource(input, script, replay.chunks))
  }
  if (input.streaming) return stream(input, headers, scriptedSource(input, script))
  return complete(input, headers, script)
}

/** What a streamed response writes, independent of scripted vs replayed content. */
interface Source {
  readonly renderer: StreamRenderer
  readonly preamble: string
  readonly count: number
  frame(index: number): string
  readonly end: string | (() => string)
  readonly delayMs: number
  readonly firstDelayMs: number
}

const scriptedSource = (input: PlayInput, script: Scripted): Source => {
  const events: ReadonlyArray<ScriptEvent> = eventsOf(script)
  const renderer = input.wire.stream(context(input, script))
  return {
    renderer,
    preamble: renderer.preamble(),
    count: events.length,
    frame: (index) => renderer.event(events[index]),
    end: () => renderer.end(),
    delayMs: script.delayMs ?? 0,
    firstDelayMs: script.firstDelayMs ?? 0
  }
}

const replaySource = (input: PlayInput, script: Replay, chunks: ReadonlyArray<string>): Source => {
  const renderer = input.wire.stream(context(input, undefined, afterEvents(script.fault) ?? chunks.length))
  return {
    renderer,
    preamble: "",
    count: chunks.length,
    frame: (index) => input.wire.replayFrame(chunks[index]),
    end: input.wire.replayEnd,
    delayMs: script.delayMs ?? 0,
    firstDelayMs: script.firstDelayMs ?? 0
  }
}

const stream = async (input: PlayInput, headers: Record<string, string>, source: Source): Promise<void> => {
  const { res, life } = input
  const fault = input.script.fault
  res.writeHead(200, {
    ...headers,
    "content-type": input.wire.streamContentType,
    "cache-control": "no-cache"
  })
  const writer = new Writer(res, life)
  if (fault?.type === "headersThenHang") {
    await writer.flush()
    return
  }
  writer.push(source.preamble)
  if (source.firstDelayMs > 0) {
    if (!(await writer.flush())) return
    if (!(await life.sleep(source.firstDelayMs))) return
  }
  const stopAt = Math.min(afterEvents(fault) ?? source.count, source.count)
  for (let i = 0; i < stopAt; i++) {
    if (i > 0 && source.delayMs > 0) {
      if (!(await writer.flush())) return
      if (!(await life.sleep(source.delayMs))) return
    }
    writer.push(source.frame(i))
    if (writer.size >= BATCH && !(await writer.flush())) return
  }
  if (fault !== undefined && afterEvents(fault) !== undefined) {
    return applyFault(fault, source.renderer, writer, input)
  }
  writer.push(typeof source.end === "string" ? source.end : source.end())
  writer.end()
}

/**
 * Writes a whole recorded body. In pieces, each piece waits for the previous one to reach the
 * socket and for the next macrotask (`noDelay` is on), so the client's parser sees the cuts.
 */
const rawBody = async (
  input: PlayInput,
  headers: Record<string, string>,
  raw: RawBody,
  delayMs: number
): Promise<void> => {
  const { res, life } = input
  const body = typeof raw.body === "string" ? Buffer.from(raw.body, "utf8") : Buffer.from(raw.body)
  res.writeHead(raw.status ?? 200, {
    ...headers,
    "content-type": raw.contentType ?? input.wire.streamContentType,
    "cache-control": "no-cache"
  })
  if (raw.pieces === undefined) {
    res.end(body)
    return
  }
  let start = 0
  for (const end of [...cuts(body.length, raw.pieces), body.length]) {
    const piece = body.subarray(start, end)
    const written = await new Promise<boolean>((resolve) => {
      res.write(piece, (error) => resolve(error == null && !life.closed))
    })
    if (!written) return
    start = end
    if (delayMs > 0 ? !(await life.sleep(delayMs)) : !(await nextMacrotask(life))) return
  }
  if (!life.closed) res.end()
}

const nextMacrotask = (life: Life): Promise<boolean> =>
  new Promise((resolve) => setImmediate(() => resolve(!life.closed)))

const applyFault = async (fault: Fault, renderer: StreamRenderer, writer: Writer, input: PlayInput): Promise<void> => {
  const { res, life } = input
  switch (fault.type) {
    case "disconnect":
      if (await writer.flushed()) life.cut()
      return
    case "errorEvent":
      writer.push(renderer.errorEvent(fault.kind ?? "overloaded"))
      writer.end()
      return
    case "malformed":
      writer.push(renderer.malformed())
      writer.end()
      return
    case "hang":
      await writer.flush()
      return
    case "stall": {
      if (!(await writer.flush())) return
      const keepalive = renderer.keepalive
      if (keepalive === undefined) return
      life.every(fault.everyMs ?? 1000, () => {
        if (!res.writableNeedDrain) res.write(keepalive)
      })
      return
    }
    default:
      return
  }
}

const complete = async (input: PlayInput, headers: Record<string, string>, script: Scripted): Promise<void> => {
  const { res, life, wire } = input
  const fault = script.fault
  const events = eventsOf(script)
  const ctx = context(input, script)
  const writer = new Writer(res, life)
  const jsonHeaders = { ...headers, "content-type": "application/json" }
  switch (fault?.type) {
    case "hang":
    case "stall":
    case "headersThenHang":
      res.writeHead(200, jsonHeaders)
      await writer.flush()
      return
    case "errorEvent": {
      const status = wire.errorEventStatus(fault.kind ?? "overloaded")
      res.writeHead(status, jsonHeaders)
      res.end(JSON.stringify(wire.errorBody(status, {})))
      return
    }
    default:
      break
  }
  const delay = (script.firstDelayMs ?? 0) + (script.delayMs ?? 0) * Math.max(0, events.length - 1)
  if (delay > 0 && !(await life.sleep(delay))) return
  const body = JSON.stringify(wire.complete(ctx, events))
  res.writeHead(200, jsonHeaders)
  switch (fault?.type) {
    case "disconnect":
      writer.push(body.slice(0, Math.floor(body.length / 2)))
      if (await writer.flushed()) life.cut()
      return
    case "malformed":
      res.end("{not json")
      return
    default:
      res.end(body)
  }
}
