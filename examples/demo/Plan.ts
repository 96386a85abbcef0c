/**
 * The demo's plan: every random choice of a run, made up front from the seed.
 *
 * For each session: which provider it talks to (one of the five wire formats,
 * or a hedge or a fallback over two of them), when it starts, and for each of
 * its turns the message, the answer's length and pace, the fault the fake
 * server injects, and what the user does (read to the end, cancel after a few
 * events, or crash the session on purpose). (Malformed frames are left out:
 * the SDKs print them to stderr, which would cut through the live view.)
 *
 * The fake server looks the plan up by the tag at the start of each message
 * (`[s17 t2] …`) and by how many times it has been asked that turn, never by
 * arrival order, so the same seed gives the same faults however the requests
 * interleave.
 */
import { Script } from "@streamvisor/testkit"
import { Effect, Random } from "effect"
import { lastMessageText, type Wire } from "../support/Backend.js"

/** A session talks to one wire format, or to a policy over two. */
export type Route = Wire | "hedge" | "fallback"

export const routes: ReadonlyArray<Route> = [
  "anthropic",
  "openai-chat",
  "openai-responses",
  "gemini",
  "ollama",
  "hedge",
  "fallback"
]

/** `hedge([anthropic, openai-chat])` and `fallback([gemini, ollama])`. */
export const hedgeWires = ["anthropic", "openai-chat"] as const
export const fallbackWires = ["gemini", "ollama"] as const

/** What the fake server does to a turn. */
export type Fault =
  | { readonly kind: "none" }
  /** First attempt: 429 with retry-after; the retry succeeds. */
  | { readonly kind: "rate-limit" }
  /** First attempt: 529 overloaded; the retry succeeds. */
  | { readonly kind: "overloaded" }
  /** First attempt: never sends headers (the first-token timeout fires); the retry succeeds. */
  | { readonly kind: "hang-before-headers" }
  /** After `after` events: the socket is destroyed (Disconnected). */
  | { readonly kind: "disconnect"; readonly after: number }
  /** After `after` events: silence, until the idle timeout fires. */
  | { readonly kind: "hang"; readonly after: number }
  /** After `after` events: the provider's own error event (Overloaded). */
  | { readonly kind: "error-event"; readonly after: number }
  /** Hedge sessions: the primary takes 800 ms to start, so after 400 ms the secondary is asked too, and wins. */
  | { readonly kind: "slow-primary" }
  /** Fallback sessions: the primary answers 503, so the secondary answers. */
  | { readonly kind: "primary-down" }

/** What the user does with the answer. */
export type User =
  | { readonly kind: "read" }
  /** Stop reading after `after` events: the turn is cancelled. */
  | { readonly kind: "cancel"; readonly after: number }
  /** Crash the session (a chaos drill) after `after` events: the supervisor restarts it. */
  | { readonly kind: "crash"; readonly after: number }

export interface Turn {
  readonly text: string
  /** The answer: `words` text deltas, the first after `firstDelayMs`, then one every `delayMs`. */
  readonly words: number
  readonly firstDelayMs: number
  readonly delayMs: number
  readonly fault: Fault
  readonly user: User
  /** Pause before the next turn. */
  readonly thinkMs: number
}

export interface Session {
  readonly id: string
  readonly route: Route
  readonly startMs: number
  readonly turns: ReadonlyArray<Turn>
}

export interface Plan {
  readonly seed: string
  readonly sessions: ReadonlyArray<Session>
}

// ---------------------------------------------------------------------------
// Making the plan
// ---------------------------------------------------------------------------

/** Pick one of `choices` with probability proportional to its weight. */
const weighted = <A>(choices: ReadonlyArray<readonly [A, number]>): Effect.Effect<A> =>
  Effect.map(Random.next, (r) => {
    const total = choices.reduce((sum, [, weight]) => sum + weight, 0)
    let x = r * total
    for (const [choice, weight] of choices) {
      if ((x -= weight) < 0) return choice
    }
    return choices[choices.length - 1]![0]
  })

const questions = [
  "What is a stream?",
  "Why close a connection?",
  "Tell me about lighthouses.",
  "How do actors work?",
  "What does a supervisor do?",
  "Explain backpressure briefly.",
  "Name a prime number.",
  "What is Effect?"
]

const makeFault = (route: Route): Effect.Effect<Fault> =>
  Effect.gen(function*() {
    if (route === "hedge") return yield* weighted<Fault>([[{ kind: "slow-primary" }, 1], [{ kind: "none" }, 1]])
    if (route === "fallback") return yield* weighted<Fault>([[{ kind: "primary-down" }, 2], [{ kind: "none" }, 3]])
    const after = yield* Random.nextIntBetween(1, 6)
    return yield* weighted<Fault>([
      [{ kind: "none" }, 62],
      [{ kind: "rate-limit" }, 8],
      [{ kind: "overloaded" }, 5],
      [{ kind: "hang-before-headers" }, 3],
      [{ kind: "disconnect", after }, 7],
      [{ kind: "hang", after }, 3],
      [{ kind: "error-event", after }, 4]
    ])
  })

const makeSession = (index: number, spreadMs: number): Effect.Effect<Session> =>
  Effect.gen(function*() {
    const route = yield* weighted<Route>([
      ["anthropic", 16],
      ["openai-chat", 16],
      ["openai-responses", 16],
      ["gemini", 16],
      ["ollama", 16],
      ["hedge", 10],
      ["fallback", 10]
    ])
    const startMs = yield* Random.nextIntBetween(0, spreadMs + 1)
    const turnCount = yield* Random.nextIntBetween(2, 4)
    const turns: Array<Turn> = []
    for (let t = 1; t <= turnCount; t++) {
      const question = questions[yield* Random.nextIntBetween(0, questions.length)]!
      const after = yield* Random.nextIntBetween(1, 6)
      turns.push({
        text: `[s${index} t${t}] ${question}`,
        words: yield* Random.nextIntBetween(6, 17),
        firstDelayMs: yield* Random.nextIntBetween(20, 150),
        delayMs: yield* Random.nextIntBetween(5, 13),
        fault: yield* makeFault(route),
        user: yield* weighted<User>([[{ kind: "read" }, 89], [{ kind: "cancel", after }, 8], [{ kind: "crash", after }, 3]]),
        thinkMs: yield* Random.nextIntBetween(0, 200)
      })
    }
    return { id: `s${index}`, route, startMs, turns }
  })

/** The whole plan; every random number comes from `seed`. */
export const make = (options: { readonly sessions: number; readonly seed: string }): Effect.Effect<Plan> =>
  Effect.gen(function*() {
    // Sessions start over a few seconds, so the view shows them ramp up.
    const spreadMs = Math.min(4_000, options.sessions * 12)
    const sessions: Array<Session> = []
    for (let i = 1; i <= options.sessions; i++) sessions.push(yield* makeSession(i, spreadMs))
    return { seed: options.seed, sessions }
  }).pipe(Effect.withRandom(Random.make(options.seed)))

const count = <A>(items: ReadonlyArray<A>, key: (a: A) => string | undefined): Map<string, number> => {
  const out = new Map<string, number>()
  for (const item of items) {
    const k = key(item)
    if (k !== undefined) out.set(k, (out.get(k) ?? 0) + 1)
  }
  return out
}

/** `label item, item, …`, wrapped to fit 80 columns. */
const wrapped = (label: string, items: ReadonlyArray<string>): Array<string> => {
  const lines = [label]
  for (const [i, item] of items.entries()) {
    const text = i < items.length - 1 ? `${item},` : item
    if (lines[lines.length - 1]!.length + text.length + 1 > 80) lines.push(" ".repeat(label.length))
    const last = lines.length - 1
    lines[last] = lines[last]!.endsWith(" ") ? lines[last] + text : `${lines[last]} ${text}`
  }
  return lines
}

const entries = (counts: Map<string, number>) => [...counts].map(([k, n]) => `${k} ${n}`)

/** What the plan holds: sessions by route, injected faults, what users do. */
export const describe = (plan: Plan): Array<string> => {
  const turns = plan.sessions.flatMap((s) => s.turns)
  const byRoute = count(plan.sessions, (s) => s.route)
  return [
    ...wrapped("sessions:", routes.map((r) => `${r} ${byRoute.get(r) ?? 0}`)),
    ...wrapped("faults:  ", entries(count(turns, (t) => (t.fault.kind === "none" ? undefined : t.fault.kind)))),
    ...wrapped("users:   ", entries(count(turns, (t) => (t.user.kind === "read" ? undefined : t.user.kind))))
  ]
}

/**
 * What the hedge and the fallback did, from the requests the fake server saw:
 * hedged turns whose secondary was asked too, and fallback turns that moved
 * on to the secondary.
 */
export const policyOutcomes = (plan: Plan, requests: ReadonlyArray<{ readonly body: unknown; readonly format: string }>) => {
  const formatsByTag = new Map<string, Set<string>>()
  for (const request of requests) {
    const tag = /^\[(s\d+) t\d+\]/.exec(lastMessageText(request.body))
    if (tag === null) continue
    const key = tag[0]
    let formats = formatsByTag.get(key)
    if (formats === undefined) formatsByTag.set(key, formats = new Set())
    formats.add(request.format)
  }
  let hedgeTurns = 0
  let hedged = 0
  let fallbackTurns = 0
  let movedOn = 0
  for (const session of plan.sessions) {
    session.turns.forEach((_, i) => {
      const formats = formatsByTag.get(`[${session.id} t${i + 1}]`)
      if (session.route === "hedge") {
        hedgeTurns++
        if (formats?.has(hedgeWires[1])) hedged++
      } else if (session.route === "fallback") {
        fallbackTurns++
        if (formats?.has(fallbackWires[1])) movedOn++
      }
    })
  }
  return { hedgeTurns, hedged, fallbackTurns, movedOn }
}

/** A short fingerprint of the plan: the same seed prints the same digest. */
export const digest = (plan: Plan): string => {
  let hash = 0x811c9dc5 // FNV-1a, 32 bits
  for (const char of JSON.stringify(plan.sessions)) {
    hash ^= char.charCodeAt(0)
    hash = Math.imul(hash, 0x01000193)
  }
  return (hash >>> 0).toString(16).padStart(8, "0")
}

// ---------------------------------------------------------------------------
// Playing the plan on the fake server
// ---------------------------------------------------------------------------

const lorem = "streams open and close exactly once while sessions come and go under a patient supervisor".split(" ")

const answerWords = (words: number): Array<string> =>
  Array.from({ length: words }, (_, i) => `${lorem[i % lorem.length]}${i === words - 1 ? "." : " "}`)

/**
 * The fake server's script: find the turn by the tag in the last message,
 * count the attempts at it on this wire format, and play its fault.
 */
export const script = (plan: Plan): Script.ScriptFn => {
  const turns = new Map<string, Turn>()
  for (const session of plan.sessions) {
    session.turns.forEach((turn, i) => turns.set(`${session.id} t${i + 1}`, turn))
  }
  const attempts = new Map<string, number>()

  return (request) => {
    const tag = /^\[(s\d+ t\d+)\]/.exec(lastMessageText(request.body))?.[1]
    const turn = tag === undefined ? undefined : turns.get(tag)
    if (turn === undefined) return Script.text(["Hello."])
    const key = `${tag}/${request.format}`
    const attempt = (attempts.get(key) ?? 0) + 1
    attempts.set(key, attempt)

    const answer = (options: Script.Options = {}) =>
      Script.text(answerWords(turn.words), { firstDelayMs: turn.firstDelayMs, delayMs: turn.delayMs, ...options })
    const fault = turn.fault
    switch (fault.kind) {
      case "none":
        return answer()
      case "rate-limit":
        return attempt === 1 ? Script.status(429, { headers: { "retry-after": "0.2" } }) : answer()
      case "overloaded":
        return attempt === 1 ? Script.status(529) : answer()
      case "hang-before-headers":
        return attempt === 1 ? { fault: { type: "hangBeforeHeaders" } } : answer()
      case "disconnect":
        return answer({ fault: { type: "disconnect", afterEvents: fault.after } })
      case "hang":
        return answer({ fault: { type: "hang", afterEvents: fault.after } })
      case "error-event":
        return answer({ fault: { type: "errorEvent", afterEvents: fault.after, kind: "overloaded" } })
      case "slow-primary":
        return request.format === hedgeWires[0] ? answer({ firstDelayMs: 800 }) : answer()
      case "primary-down":
        return request.format === fallbackWires[0] ? Script.status(503) : answer()
    }
  }
}
