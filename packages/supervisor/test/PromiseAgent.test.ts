/**
 * Agent sessions on the promise face (`@streamvisor/supervisor/promise`):
 * `spawn` takes core's `PromiseTool`s, `sendAgent` iterates the turn's agent
 * events, and every way a running tool is cut (the send's `AbortSignal`,
 * `crash`, `stop`, `toolTimeout`) aborts its `execute`'s `signal`, commits
 * nothing and throws the typed error itself. Against FakeLlmServer over real
 * HTTP (the real Ollama adapter). After each case: nothing in flight at the
 * server, no socket once the pool closes, ledger live 0, no unhandled rejection.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { Ledger, ToolError } from "@streamvisor/core"
import { FakeLlmServer, Script } from "@streamvisor/testkit"
import { type PromiseSession, type PromiseTool, startSupervisor } from "@streamvisor/supervisor/promise"
import { Effect, Schema } from "effect"
import { SessionError, SupervisorError } from "../src/index.js"
import * as Ollama from "./support/Ollama.js"

let server: FakeLlmServer.Server
let pool: Ollama.Pool
let ledger: Ledger.Service
const unhandled: Array<unknown> = []
const onUnhandled = (reason: unknown) => void unhandled.push(reason)

type Body = { readonly model: string; readonly messages: ReadonlyArray<{ readonly role: string; readonly content: string }> }

/**
 * Model `calc`: step 1 calls `add` and `shout`, step 2 answers with their
 * results. Model `call-<tool>`: step 1 calls `<tool>`, step 2 answers "done".
 * Any other model answers "re: <text>".
 */
const script: Script.ScriptFn = (request) => {
  const body = request.body as Body
  const last = body.messages[body.messages.length - 1]
  if (last.role === "tool") {
    const results = body.messages.filter((m) => m.role === "tool").map((m) => m.content)
    return Script.text(body.model === "calc" ? ["Results: ", results.join(", ")] : ["done"])
  }
  if (body.model === "calc") {
    return Script.make([
      Script.textEvent("Computing. "),
      Script.toolCallEvent({ id: "c1", name: "add", arguments: { a: 2, b: 40 } }),
      Script.toolCallEvent({ id: "c2", name: "shout", arguments: { text: "hi" } })
    ])
  }
  if (body.model.startsWith("call-")) {
    return Script.make([Script.toolCallEvent({ id: "c1", name: body.model.slice("call-".length), arguments: {} })])
  }
  return Script.text(["re: ", last.content])
}

beforeAll(async () => {
  server = await FakeLlmServer.start()
  process.on("unhandledRejection", onUnhandled)
})
afterAll(async () => {
  process.off("unhandledRejection", onUnhandled)
  await server.close()
})
beforeEach(() => {
  server.reset()
  server.setScript(script)
  pool = Ollama.pool(server)
  ledger = Ledger.make()
})
afterEach(async () => {
  await server.waitFor((s) => s.inflight === 0, { timeoutMs: 2_000 })
  await pool.agent.close()
  await server.waitFor((s) => s.open === 0, { timeoutMs: 2_000 })
  expect(ledger.snapshot().live).toEqual([])
  expect(ledger.snapshot().released).toBe(ledger.snapshot().opened)
  expect(ledger.doubleReleases()).toBe(0)
  expect(unhandled).toEqual([])
})

/** A tool whose `execute` runs until its signal aborts; `started` resolves once it runs. */
const waiting = () => {
  let started!: () => void
  const probe = {
    started: new Promise<void>((resolve) => (started = resolve)),
    signal: undefined as AbortSignal | undefined,
    tool: {
      description: "waits until cancelled",
      execute: (_args: unknown, { signal }: { readonly signal: AbortSignal }) =>
        new Promise((_, reject) => {
          probe.signal = signal
          started()
          signal.addEventListener("abort", () => reject(signal.reason))
        })
    } satisfies PromiseTool
  }
  return probe
}

/** Read the whole turn; resolves with the events' tags or rejects with what the iterator threw. */
const drain = async (iterator: AsyncIterable<{ readonly _tag: string }>): Promise<Array<string>> => {
  const tags: Array<string> = []
  for await (const event of iterator) tags.push(event._tag)
  return tags
}

describe("agent sessions on the promise face", () => {
  it("spawn with PromiseTools: sendAgent streams both steps and the tool results; the turn is committed; send is unchanged", async () => {
    const sup = await startSupervisor({ name: "promise-agent-1", ledger })
    const chat = await sup.spawn({
      id: "calc",
      provider: pool.provider(),
      model: "calc",
      maxSteps: 3,
      tools: {
        // JSON Schema parameters: the arguments as the model sent them
        add: {
          description: "Add two numbers",
          parameters: { type: "object", properties: { a: { type: "number" }, b: { type: "number" } } },
          execute: async ({ a, b }: { a: number; b: number }) => a + b
        },
        // Schema parameters: decoded with it
        shout: {
          parameters: Schema.Struct({ text: Schema.String }),
          execute: ({ text }: { text: string }) => text.toUpperCase()
        }
      }
    })
    const events: Array<{ readonly _tag: string } & Record<string, unknown>> = []
    for await (const event of chat.sendAgent("add and shout")) events.push(event as never)
    const frames = events.flatMap((e) =>
      e._tag === "StepStart" || e._tag === "StepFinish" || e._tag === "TurnEnd" ? [`${e._tag} ${e.step ?? e.steps}`]
      : e._tag === "ToolResult" ? [`ToolResult ${e.name} ${e.outcome}`]
      : []
    )
    // the two results arrive in completion order
    expect(frames.slice(0, 1)).toEqual(["StepStart 1"])
    expect(frames.slice(1, 3).sort()).toEqual(["ToolResult add success", "ToolResult shout success"])
    expect(frames.slice(3)).toEqual(["StepFinish 1", "StepStart 2", "StepFinish 2", "TurnEnd 2"])
    const results = Object.fromEntries(events.flatMap((e) => (e._tag === "ToolResult" ? [[e.name, e.result]] : [])))
    expect(results).toEqual({ add: 42, shout: "HI" })
    expect(events.at(-1)).toMatchObject({ _tag: "TurnEnd", reason: "finished", text: "Results: 42, HI" })
    const history = await chat.history()
    expect(history.map((m) => m.role)).toEqual(["user", "assistant", "tool", "tool", "assistant"])
    // the provider saw both tools' definitions, the JSON Schema as given
    const sent = server.requests[0].body as { readonly tools: ReadonlyArray<{ readonly function: { readonly name: string; readonly parameters: unknown } }> }
    expect(sent.tools.map((t) => t.function.name)).toEqual(["add", "shout"])
    expect(sent.tools[0].function.parameters).toEqual({ type: "object", properties: { a: { type: "number" }, b: { type: "number" } } })
    // `send` on the same session: provider events only, still a whole agent turn committed
    const tags = await drain(chat.send("again"))
    expect(tags).not.toContain("StepStart")
    expect(tags.filter((t) => t === "Finish")).toHaveLength(2)
    expect((await chat.history()).length).toBe(10)
    await sup.close()
  })

  it("aborting the send's signal during execute aborts execute's signal; next() rejects with the reason; nothing committed", async () => {
    const sup = await startSupervisor({ ledger })
    const probe = waiting()
    const chat = await sup.spawn({ provider: pool.provider(), model: "call-wait", tools: { wait: probe.tool } })
    const controller = new AbortController()
    const reason = new Error("stopped by the user")
    const read = drain(chat.sendAgent("wait", { signal: controller.signal }))
    await probe.started
    controller.abort(reason)
    await expect(read).rejects.toBe(reason)
    expect(probe.signal?.aborted).toBe(true)
    expect(await chat.history()).toEqual([])
    expect(server.requests.length).toBe(1)
    expect(await chat.info()).toMatchObject({ turns: 0, currentTurn: null, runningTools: 0, liveStreams: 0 })
    await sup.close()
  })

  const cuts: ReadonlyArray<{
    readonly name: string
    readonly options: { readonly toolTimeout?: number }
    readonly cut: (chat: PromiseSession) => Promise<unknown>
    readonly error: abstract new(...args: never) => unknown
  }> = [
    { name: "crash", options: {}, cut: (chat) => Effect.runPromise(chat.ref.crash()), error: SessionError.SessionCrashed },
    { name: "stop", options: {}, cut: (chat) => chat.stop(), error: SessionError.SessionStopped },
    { name: "toolTimeout", options: { toolTimeout: 20 }, cut: async () => undefined, error: ToolError.ToolTimeout }
  ]
  for (const { cut, error, name, options } of cuts) {
    it(`${name} during execute aborts its signal and throws ${error.name} itself; nothing committed`, async () => {
      const sup = await startSupervisor({ ledger, shutdownTimeout: "20 millis" })
      const probe = waiting()
      const chat = await sup.spawn({ provider: pool.provider(), model: "call-wait", tools: { wait: probe.tool }, ...options })
      const read = drain(chat.sendAgent("wait"))
      await probe.started
      await cut(chat)
      const thrown = await read.then(() => undefined, (e: unknown) => e)
      expect(thrown).toBeInstanceOf(error)
      expect(probe.signal?.aborted).toBe(true)
      expect(await chat.history()).toEqual([])
      await sup.close()
    })
  }

  it("typed errors: tools that are not PromiseTools are refused; a failing tool in \"error\" mode throws ToolError", async () => {
    const sup = await startSupervisor({ ledger })
    await expect(sup.spawn({ provider: pool.provider(), model: "m", tools: { nope: { description: "no execute" } as never } }))
      .rejects.toBeInstanceOf(SupervisorError.InvalidOptions)
    await expect(sup.spawn({ provider: pool.provider(), model: "m", tools: "lookup" as never }))
      .rejects.toBeInstanceOf(SupervisorError.InvalidOptions)
    expect((await sup.snapshot()).sessions).toEqual([])
    const chat = await sup.spawn({
      provider: pool.provider(),
      model: "call-boom",
      tools: {
        boom: {
          failureMode: "error",
          execute: () => {
            throw new Error("the disk is on fire")
          }
        }
      }
    })
    expect(() => chat.sendAgent("")).toThrow(SessionError.InvalidMessage)
    const thrown = await drain(chat.sendAgent("boom")).then(() => undefined, (e: unknown) => e)
    expect(thrown).toBeInstanceOf(ToolError.ToolError)
    expect(thrown).toMatchObject({ tool: "boom", reason: "failure", failure: "the disk is on fire" })
    expect(await chat.history()).toEqual([])
    // a session without tools answers in one step
    const plain = await sup.spawn({ provider: pool.provider(), model: "plain" })
    expect((await drain(plain.sendAgent("hi"))).filter((t) => t !== "TextDelta" && t !== "Usage"))
      .toEqual(["StepStart", "Finish", "StepFinish", "TurnEnd"])
    await sup.close()
  })
})
