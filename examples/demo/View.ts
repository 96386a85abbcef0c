/**
 * The demo's live view. On a terminal it redraws a small dashboard in place
 * (with `log-update`) ten times a second; otherwise (a pipe, a CI log) it
 * prints one plain progress line a second.
 */
import logUpdate from "log-update"
import pc from "picocolors"

/** Everything one frame shows. */
export interface Frame {
  readonly elapsedMs: number
  readonly sessionsTotal: number
  /** Sessions by supervisor state, plus `pending` (not spawned yet). */
  readonly states: Readonly<Record<string, number>>
  readonly liveStreams: number
  /** Live streams by provider name. */
  readonly liveByProvider: Readonly<Record<string, number>>
  readonly streamsOpened: number
  readonly serverOpen: number
  readonly serverInflight: number
  readonly eventsPerSecond: number
  readonly restarts: number
  readonly committed: number
  readonly failed: number
  readonly cancelled: number
  readonly crashed: number
}

export interface View {
  /** Draw a frame (the plain view prints at most one line a second). */
  readonly render: (frame: Frame) => void
  /** Leave the last frame on screen. */
  readonly done: () => void
  /** How often to call `render`, in ms. */
  readonly intervalMs: number
}

const stateOrder = ["pending", "idle", "waiting", "streaming", "restarting", "stopping", "stopped", "failed"] as const

const providers = ["anthropic", "openai", "google", "ollama"]

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`

const bar = (done: number, total: number, width = 30) => {
  const filled = total === 0 ? width : Math.round((done / total) * width)
  return pc.green("█".repeat(filled)) + pc.dim("░".repeat(width - filled))
}

/** The dashboard: seven lines, at most 80 columns. */
const dashboard = (f: Frame): string => {
  const done = (f.states.stopped ?? 0) + (f.states.failed ?? 0)
  const states = stateOrder
    .filter((state) => state !== "pending" && (state !== "stopping" || (f.states[state] ?? 0) > 0))
    .map((state) => {
      const n = f.states[state] ?? 0
      const text = `${state} ${n}`
      return n === 0 ? pc.dim(text) : state === "streaming" ? pc.cyan(text) : text
    })
    .join("  ")
  const byProvider = providers.map((p) => `${p} ${f.liveByProvider[p] ?? 0}`).join("  ")
  return [
    `${pc.bold("streamvisor demo")}  ${seconds(f.elapsedMs)}`,
    `sessions  ${bar(done, f.sessionsTotal)} ${done}/${f.sessionsTotal} done   pending ${f.states.pending ?? 0}`,
    `          ${states}`,
    `streams   live ${pc.cyan(String(f.liveStreams))}  opened ${f.streamsOpened}   ${pc.dim(`(${byProvider})`)}`,
    `server    open connections ${f.serverOpen}   responses in flight ${f.serverInflight}`,
    `events/s  ${Math.round(f.eventsPerSecond)}   restarts ${pc.yellow(String(f.restarts))}`,
    `turns     committed ${pc.green(String(f.committed))}  failed ${pc.red(String(f.failed))}  ` +
      `cancelled ${f.cancelled}  crashed ${pc.yellow(String(f.crashed))}`
  ].join("\n")
}

const plainLine = (f: Frame): string => {
  const states = stateOrder
    .filter((state) => (f.states[state] ?? 0) > 0)
    .map((state) => `${state} ${f.states[state]}`)
    .join(", ")
  return `[${seconds(f.elapsedMs).padStart(5)}] sessions: ${states} | live streams ${f.liveStreams} | ` +
    `server open ${f.serverOpen} | events/s ${Math.round(f.eventsPerSecond)} | restarts ${f.restarts}`
}

/** The view for this terminal: a live dashboard on a TTY, plain lines otherwise. */
export const make = (tty: boolean): View => {
  if (tty) {
    let last: Frame | undefined
    return {
      intervalMs: 100,
      render: (frame) => {
        last = frame
        logUpdate(dashboard(frame))
      },
      done: () => {
        if (last !== undefined) logUpdate(dashboard(last))
        logUpdate.done()
      }
    }
  }
  let printedAt = Number.NEGATIVE_INFINITY
  return {
    intervalMs: 1_000,
    render: (frame) => {
      // at most one line a second, whatever the caller does
      if (frame.elapsedMs - printedAt < 900) return
      printedAt = frame.elapsedMs
      console.log(plainLine(frame))
    },
    done: () => {}
  }
}
