/**
 * Every example, and the demo, run as a child process with no API key in its
 * environment (so against the embedded fake server), the way a newcomer runs
 * them: `node --import tsx <file>` from the repository root. Each must exit 0,
 * print its key lines, and end with the ledger: as many streams released as
 * opened, `live 0`, and no connection left open on the fake server.
 *
 * Children run a few at a time (this machine has 2 cores).
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")

/** The environment of a newcomer without API keys. */
const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" }
for (const name of ["ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "OLLAMA_HOST", "NODE_OPTIONS"]) {
  delete env[name]
}

interface Result {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
  readonly ms: number
}

// At most this many children at once.
const MAX_CHILDREN = 3
let running = 0
const waiting: Array<() => void> = []
const slot = async (): Promise<() => void> => {
  if (running >= MAX_CHILDREN) await new Promise<void>((resolve) => waiting.push(resolve))
  running++
  return () => {
    running--
    waiting.shift()?.()
  }
}

/**
 * Run `file` (relative to the root) with `args`; `onStdout` sees the output so
 * far and may act on the child (e.g. send it SIGINT). Killed after `timeoutMs`.
 */
const run = async (
  file: string,
  args: ReadonlyArray<string> = [],
  options: { readonly onStdout?: (output: string, child: ChildProcess) => void; readonly timeoutMs?: number } = {}
): Promise<Result> => {
  const release = await slot()
  const started = performance.now()
  try {
    return await new Promise<Result>((resolve, reject) => {
      const child = spawn(process.execPath, ["--import", "tsx", file, ...args], {
        cwd: root,
        env,
        stdio: ["ignore", "pipe", "pipe"]
      })
      let stdout = ""
      let stderr = ""
      child.stdout.setEncoding("utf8").on("data", (data: string) => {
        stdout += data
        options.onStdout?.(stdout, child)
      })
      child.stderr.setEncoding("utf8").on("data", (data: string) => {
        stderr += data
      })
      const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 40_000)
      child.on("error", reject)
      child.on("close", (code, signal) => {
        clearTimeout(timer)
        resolve({ code, signal, stdout, stderr, ms: performance.now() - started })
      })
    })
  } finally {
    release()
  }
}

/** Exit 0, the key lines, and the ledger as the last two lines with nothing leaked. */
const expectClean = (result: Result, keyLines: ReadonlyArray<string | RegExp>) => {
  const context = `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`
  expect(result.code, context).toBe(0)
  for (const line of keyLines) {
    if (typeof line === "string") expect(result.stdout, context).toContain(line)
    else expect(result.stdout, context).toMatch(line)
  }
  const lines = result.stdout.trimEnd().split("\n")
  const [ledger, server] = lines.slice(-2)
  const counts = /^ledger: streams opened (\d+), released (\d+), live 0$/.exec(ledger ?? "")
  expect(counts, context).not.toBeNull()
  expect(Number(counts![1])).toBeGreaterThan(0)
  expect(counts![2]).toBe(counts![1])
  expect(server, context).toBe("server: connections open 0, responses in flight 0")
}

describe.concurrent("examples (smoke)", { timeout: 120_000 }, () => {
  for (const wire of ["anthropic", "openai-chat", "openai-responses", "gemini", "ollama"]) {
    it(`${wire}.ts streams an answer and stops one early`, async () => {
      expectClean(await run(`examples/${wire}.ts`), [
        `Hello from the fake ${wire} server! You said "Say hello in one sentence."`,
        "(finish: stop, tokens in 10 / out 18)",
        "took 5 events and stopped reading; live streams now: 0"
      ])
    })
  }

  it("promise-abort.ts: break, AbortSignal, deadline, typed error", async () => {
    expectClean(await run("examples/promise-abort.ts"), [
      "1. broke out after 10 events; live streams: 0",
      /2\. aborted after \d+ characters: stopped by the user; live streams: 0/,
      "3. deadline: TimeoutError; live streams: 0",
      "4. RateLimited (retryable: true"
    ])
  })

  it("supervisor-promise.ts: the supervisor without Effect — send, break, abort, typed error, an agent session, close", async () => {
    expectClean(await run("examples/supervisor-promise.ts"), [
      "1. Hello from the fake anthropic server!",
      "2. broke out after 5 events; live streams: 0; history: 2 messages",
      "3. aborted: stopped by the user; live streams: 0",
      "4. InvalidMessage: session alice: invalid message: the text is empty",
      '   step 1: local_time → "09:30 in Paris" (success)',
      "   step 2: It is 09:30 in Paris.",
      "   turn ended (finished) after 2 steps",
      "   history: 4 messages",
      "shutdown report: 2 session(s) stopped, 0 stream(s) live"
    ])
  })

  it("timeouts-retry.ts: a hang and a 429 retried, a stall cut", async () => {
    expectClean(await run("examples/timeouts-retry.ts"), [
      "attempt failed: Timeout (anthropic: timed out (first-token))",
      "attempt failed: RateLimited",
      "Third time lucky.",
      "the server saw 3 requests",
      "failed with Timeout (phase: idle), not retried"
    ])
  })

  it("fallback.ts: moves on after retryable failures, not after a 401", async () => {
    expectClean(await run("examples/fallback.ts"), [
      "the server saw: anthropic → openai-chat → gemini",
      "Hello from the fake gemini server!",
      "failed with Unauthorized, no fallback"
    ])
  })

  it("hedge.ts: the slow primary loses and is cut", async () => {
    expectClean(await run("examples/hedge.ts"), [
      "OpenAI answered.",
      "requests sent 2, cut by the client 1 (the loser)",
      "Anthropic answered.",
      "requests sent 1"
    ])
  })

  it("metrics.ts: prints the metrics through the exporter", async () => {
    expectClean(await run("examples/metrics.ts"), [
      "anthropic: RateLimited",
      "anthropic streams opened: 3",
      'streamvisor_streams_opened{provider="openai"} 6',
      'streamvisor_errors{provider="openai",error="Disconnected"} 1',
      /streamvisor_time_to_first_event_ms_count\{provider="google"\} 3/,
      'streamvisor_streams_live{provider="ollama"} 0'
    ])
  })

  it("chat-session.ts: history grows, failed and cut turns are not committed", async () => {
    expectClean(await run("examples/chat-session.ts"), [
      "this conversation has 1 message(s)",
      "this conversation has 5 message(s)",
      "turn failed: ServerError",
      "(stopped reading after 3 events: the turn is cancelled)",
      "history (6 messages):",
      "  user: Thanks!"
    ])
  })

  it("agent.ts: a 3-step tool turn, then a turn cancelled while a tool runs", async () => {
    expectClean(await run("examples/agent.ts"), [
      '← lookup_city: success {"city":"Paris","country":"France","population":2102650}',
      "← calculator: success 4205300",
      "turn ended (finished) after 3 steps; 5 messages to commit: assistant, tool, assistant, tool, assistant",
      "[approval] finalizer ran: the wait was released",
      "turn cancelled; live streams now: 0"
    ])
  })

  it("agent-session.ts: the same agent under a supervisor: sendAgent's steps, turns committed, one cancelled during a tool", async () => {
    expectClean(await run("examples/agent-session.ts"), [
      '← lookup_city: success {"city":"Paris","country":"France","population":2102650}',
      "← calculator: success 1044500",
      "turn ended (finished) after 3 steps; 5 messages to commit: assistant, tool, assistant, tool, assistant",
      "committed: history holds 6 messages; ledger: opened 3, released 3, live 0",
      "committed: history holds 12 messages; ledger: opened 6, released 6, live 0",
      "this turn's first request carried turn 1 (its tool results and answer)",
      "while waiting: step 1, 1 tool running, 0 stream open",
      "[approval] finalizer ran: the wait was released",
      "turn cancelled; history unchanged (12 messages); ledger: opened 7, released 7, live 0"
    ])
  })

  it("images.ts: a screenshot part goes out as an image block; a BMP is refused before connecting", async () => {
    expectClean(await run("examples/images.ts"), [
      "answer: The dialog says the disk is full: free some space and retry.",
      'on the wire: an Anthropic "image" block, source base64 image/png',
      "bmp: InvalidRequest (└─ messages[0].content[0]: an image part (data) has media type image/bmp",
      "requests sent for it: 0"
    ])
  })

  it("structured-output.ts: generateObject, streamObject's growing partials, InvalidOutput", async () => {
    expectClean(await run("examples/structured-output.ts"), [
      "1. generateObject: high — Checkout returns 500 [checkout, outage]",
      // how many partials depends on how the deltas batch: at least one
      /^2\. partial: \{"title":"Ch/m,
      '2. complete: {"title":"Checkout returns 500","severity":"high","tags":["checkout","outage"]} (finish: stop)',
      /3\. InvalidOutput: anthropic: the answer does not match the schema: .*actual "urgent"/,
      '   the text was: {"title":"Checkout returns 500","severity":"urgent","tags":[]}'
    ])
  })

  it("reasoning.ts: signed thinking round-tripped over a tool turn; unsigned history refused", async () => {
    expectClean(await run("examples/reasoning.ts"), [
      '1. thought: "The answer depends on the weather. I should look it up." (signature EqQBCkgIAhABGAIiQK5turn1)',
      '   called: weather({"city":"Oslo"})',
      "2. answer: Better not: it is -3°C with icy roads. Take the tram. (finish: stop)",
      "   history sent back: user → assistant → tool",
      "3. without the signature: InvalidRequest, requests sent 0"
    ])
  })

  it("tool-choice.ts: each choice in Anthropic's form; Ollama refuses required", async () => {
    expectClean(await run("examples/tool-choice.ts"), [
      'anthropic "auto": search_orders({"email":"ada@example.com"}) — sent tool_choice {"type":"auto"}',
      'anthropic "none": "I can look that up if you let me use a tool." — sent tool_choice {"type":"none"}',
      'anthropic "required": search_orders({"email":"ada@example.com"}) — sent tool_choice {"type":"any"}',
      'anthropic {"tool":"search_orders"}: search_orders({"email":"ada@example.com"}) — sent tool_choice {"type":"tool","name":"search_orders"}',
      'ollama "required": InvalidRequest — toolChoice: toolChoice "required" is not supported by ollama',
      "requests sent for it: 0"
    ])
  })

  it("prompt-caching.ts: cache_control on the wire, cache write and read in usage and the ledger", async () => {
    expectClean(await run("examples/prompt-caching.ts"), [
      "1. \"See rule 12 of the manual.\" — input 3612, cache write 3600, cache read 0, output 9",
      "2. \"See rule 12 of the manual.\" — input 3614, cache write 0, cache read 3600, output 11",
      'on the wire: system block with cache_control {"type":"ephemeral"}',
      "ledger usage: input 7226, cache write 3600, cache read 3600, output 20"
    ])
  })

  it("provider-options.ts: options merged per provider; a typo refused", async () => {
    expectClean(await run("examples/provider-options.ts"), [
      'anthropic: "Teal." — sent {"top_k":5,"metadata":{"user_id":"customer-42"}}',
      'ollama: "Teal." — sent {"keep_alive":"10m","options":{"num_predict":100,"seed":42,"num_ctx":8192}}',
      'typo: InvalidRequest — ["temprature"] is unexpected',
      "requests sent for it: 0"
    ])
  })

  it("graceful-shutdown.ts: SIGINT closes the supervisor's scope and reports", async () => {
    let signalled = false
    const result = await run("examples/graceful-shutdown.ts", [], {
      onStdout: (output, child) => {
        if (!signalled && output.includes("Press Ctrl-C")) {
          signalled = true
          // let some turns get going first
          setTimeout(() => child.kill("SIGINT"), 500)
        }
      }
    })
    expectClean(result, [
      "5 sessions running, 25 turns queued",
      /got SIGINT: closing the supervisor's scope/,
      "shutdown report:",
      "  sessions stopped      5",
      /turns cancelled +\d+ \(queued, dropped\)/,
      /still live 0/
    ])
  })

  it("demo: --help lists the options", async () => {
    const result = await run("examples/demo/main.ts", ["--help"])
    expect(result.code).toBe(0)
    for (const option of ["--sessions N", "--seed S", "--live", "--help"]) expect(result.stdout).toContain(option)
  })

  it("demo: a small run, not on a TTY, prints progress lines and ends with the ledger", async () => {
    const result = await run("examples/demo/main.ts", ["--sessions", "40", "--seed", "7"])
    expectClean(result, [
      /^streamvisor demo: 40 sessions, \d+ turns, seed 7 \(plan [0-9a-f]{8}\)$/m,
      /^sessions: anthropic \d+, openai-chat \d+, openai-responses \d+, gemini \d+,\s+ollama \d+,\s+hedge \d+,\s+fallback \d+$/m,
      /^\[ *\d+\.\ds\] sessions: .* \| live streams \d+ \| server open \d+ \| events\/s \d+ \| restarts \d+$/m,
      /^turns: committed \d+, failed \d+/m,
      /^hedge: \d+ of \d+ turns asked the second provider; fallback: \d+ of \d+ turns moved on$/m,
      /^supervisor: closed, 40 sessions stopped, 0 failed, 0 running, 0 fibers left/m
    ])
  })

  it("demo: the same seed makes the same plan", async () => {
    // the header: the plan's digest and what it holds, up to the first blank line
    const header = (stdout: string) => stdout.slice(0, stdout.indexOf("\n\n"))
    const [a, b] = await Promise.all([
      run("examples/demo/main.ts", ["--sessions", "6", "--seed", "42"]),
      run("examples/demo/main.ts", ["--sessions", "6", "--seed", "42"])
    ])
    expectClean(a, [])
    expectClean(b, [])
    expect(header(a.stdout)).toBe(header(b.stdout))
    expect(header(a.stdout)).toMatch(/^streamvisor demo: 6 sessions, \d+ turns, seed 42 \(plan [0-9a-f]{8}\)\n/)
  })
})
