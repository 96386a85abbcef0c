/**
 * One request / response pair and its lifetime: byte accounting on the shared socket, timers
 * cleared on close, `drain` waits and the server-side cut. Playback drives it through {@link Life}.
 */
import type * as http from "node:http"
import type { Socket } from "node:net"
import type { WireFormat } from "../FakeLlmServer.js"
import type { Life } from "./playback.js"

/** One request / response pair and its lifetime. */
export class Exchange implements Life {
  format: WireFormat = "unknown"
  model: string | undefined = undefined
  settled = false
  closed = false
  serverCut = false
  private readonly timers = new Set<NodeJS.Timeout>()
  private readonly onClose = new Set<() => void>()
  private readonly baseline: number

  constructor(
    readonly id: number,
    readonly startedAt: number,
    readonly res: http.ServerResponse,
    readonly socket: Socket
  ) {
    this.baseline = socket.bytesWritten
  }

  /** Bytes handed to the socket since this response started (responses on a socket are sequential). */
  get bytesWritten(): number {
    return this.socket.bytesWritten - this.baseline
  }

  /** Called once, on the response's `close`. */
  markClosed(): void {
    this.closed = true
    for (const timer of this.timers) clearTimeout(timer)
    this.timers.clear()
    const listeners = [...this.onClose]
    this.onClose.clear()
    for (const listener of listeners) listener()
  }

  sleep(ms: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(false)
    return new Promise((resolve) => {
      const onClose = () => resolve(false)
      const timer = setTimeout(() => {
        this.timers.delete(timer)
        this.onClose.delete(onClose)
        resolve(!this.closed)
      }, ms)
      this.timers.add(timer)
      this.onClose.add(onClose)
    })
  }

  drain(): Promise<boolean> {
    if (this.closed) return Promise.resolve(false)
    if (!this.res.writableNeedDrain) return Promise.resolve(true)
    return new Promise((resolve) => {
      const onDrain = () => {
        this.onClose.delete(onClose)
        resolve(!this.closed)
      }
      const onClose = () => {
        this.res.off("drain", onDrain)
        resolve(false)
      }
      this.res.once("drain", onDrain)
      this.onClose.add(onClose)
    })
  }

  every(ms: number, f: () => void): void {
    if (this.closed) return
    const timer = setInterval(() => {
      if (!this.closed) f()
    }, ms)
    this.timers.add(timer)
  }

  cut(): void {
    if (this.closed) return
    this.serverCut = true
    this.socket.destroy()
  }
}
