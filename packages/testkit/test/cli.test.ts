/**
 * The standalone `streamvisor-fake-server`: argument parsing and script-file validation directly,
 * and the built bin (spawned only when `dist/bin.js` exists, i.e. after a build).
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as Either from "effect/Either"
import { afterAll, describe, expect, it } from "vitest"
import { parseArgs } from "../src/internal/cli.js"
import { Script } from "../src/index.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fake-server-cli-"))
const file = (name: string, content: string): string => {
  const p = path.join(dir, name)
  fs.writeFileSync(p, content)
  return p
}
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const good = file("good.json", JSON.stringify({ events: [{ type: "text", text: "hi" }], delayMs: 1 }))
const badJson = file("bad.json", "{ events: ")
const badShape = file("shape.json", JSON.stringify({ events: [{ type: "txt", text: 1 }] }))
const typo = file("typo.json", JSON.stringify({ delayMS: 5 }))
const rich = file(
  "rich.json",
  JSON.stringify({
    events: [
      { type: "reasoning", text: "hm", signature: "SIG" },
      { type: "redactedReasoning", data: "D" },
      { type: "json", json: "{\"a\":1}", chunks: 2 },
      { type: "toolCall", id: "c", name: "f", arguments: "{}", signature: "G" }
    ],
    usage: { inputTokens: 5, outputTokens: 6, cachedInputTokens: 4, cacheWriteTokens: 1, reasoningTokens: 2 },
    validate: ["anthropic-thinking"]
  })
)

describe("parseArgs", () => {
  it("defaults", () => {
    expect(parseArgs([])).toEqual({ _tag: "Serve", port: 0, host: "127.0.0.1", script: undefined, source: "default script", validate: [] })
    expect(parseArgs(["--validate", "anthropic-thinking,openai-responses-reasoning"])).toMatchObject({
      validate: ["anthropic-thinking", "openai-responses-reasoning"]
    })
  })

  it("reads --port, --host (both spellings) and --help", () => {
    expect(parseArgs(["--port", "8080", "--host=0.0.0.0"])).toMatchObject({ _tag: "Serve", port: 8080, host: "0.0.0.0" })
    expect(parseArgs(["--port=0"])).toMatchObject({ port: 0 })
    expect(parseArgs(["--port", "1", "--help"])).toEqual({ _tag: "Help" })
    expect(parseArgs(["-h"])).toEqual({ _tag: "Help" })
  })

  it.each([
    [["--port", "abc"], /--port needs an integer/],
    [["--port", "70000"], /--port needs an integer/],
    [["--port"], /--port needs an integer between 0 and 65535, got nothing/],
    [["--bogus"], /unknown argument "--bogus"/],
    [["--script", good, "--fixture", "anthropic/text"], /either --script or --fixture/],
    [["--fixture", "nope"], /invalid fixture id/],
    [["--fixture", "anthropic/nope"], /unknown fixture anthropic\/nope/],
    [["--script", path.join(dir, "missing.json")], /cannot read script file .*missing\.json \(ENOENT\)/],
    [["--script", badJson], /is not valid JSON/],
    [["--script", badShape], /is not a valid script/],
    [["--script", typo], /is not a valid script: .*delayMS/],
    [["--validate", "nope"], /unknown check "nope" \(checks: anthropic-thinking, /],
    [["--validate"], /--validate needs one of/]
  ])("rejects %j with a one-line error", (argv, message) => {
    const command = parseArgs(argv)
    expect(command._tag).toBe("Error")
    if (command._tag !== "Error") return
    expect(command.message).toMatch(message)
    expect(command.message).not.toMatch(/[\r\n]/)
  })

  it("loads a script file with the conversation-model events, usage detail and checks", () => {
    const command = parseArgs(["--script", rich])
    expect(command._tag).toBe("Serve")
    if (command._tag === "Serve") expect((command.script as Script.Scripted).events).toHaveLength(4)
  })

  it("loads a valid script file and a fixture", () => {
    expect(parseArgs(["--script", good])).toMatchObject({
      _tag: "Serve",
      script: { events: [{ type: "text", text: "hi" }], delayMs: 1 },
      source: `script ${good}`
    })
    const fixture = parseArgs(["--fixture", "google/tool-call"])
    expect(fixture).toMatchObject({ _tag: "Serve", source: "fixture google/tool-call" })
    if (fixture._tag === "Serve") expect(Script.isReplay(fixture.script!)).toBe(true)
  })
})

describe("Script.decode", () => {
  it("accepts every fault and a replay", () => {
    const faults: Array<Script.Fault> = [
      { type: "status", status: 429, headers: { "retry-after": "2" }, body: { any: 1 } },
      { type: "disconnect", afterEvents: 1 },
      { type: "errorEvent", afterEvents: 0, kind: "rate_limit" },
      { type: "malformed", afterEvents: 2 },
      { type: "hang", afterEvents: 0 },
      { type: "stall", afterEvents: 0, everyMs: 100 },
      { type: "headersThenHang" },
      { type: "hangBeforeHeaders" }
    ]
    for (const fault of faults) expect(Either.isRight(Script.decode(Script.text(2, { fault })))).toBe(true)
    const tool = Script.toolCall({ name: "f", arguments: { a: 1 } }, { text: ["x"], usage: { inputTokens: 1, outputTokens: 2 } })
    expect(Script.decode(tool)).toEqual(Either.right(tool))
    expect(Either.isRight(Script.decode(Script.replay(["{}"], { delayMs: 1 })))).toBe(true)
  })

  it("rejects bad shapes with one line", () => {
    for (const bad of [
      { fault: { type: "status" } },
      { fault: { type: "hang", afterEvents: -1 } },
      { finishReason: "done" },
      { replay: { chunks: [1] } },
      { events: "text" },
      42
    ]) {
      const result = Script.decode(bad)
      expect(Either.isLeft(result)).toBe(true)
      if (Either.isLeft(result)) expect(result.left).not.toMatch(/\n/)
    }
  })

  it("helpers", () => {
    expect(Script.words(3)).toEqual(["w0 ", "w1 ", "w2 "])
    expect(Script.finishReasonOf(Script.toolCall({ name: "f" }))).toBe("tool_calls")
    expect(Script.finishReasonOf(Script.text(1))).toBe("stop")
    expect(Script.usageOf(Script.text(4))).toEqual({ inputTokens: 10, outputTokens: 4 })
    expect(Script.withFault(Script.text(1), { type: "hang", afterEvents: 0 }).fault).toEqual({ type: "hang", afterEvents: 0 })
    expect(Script.status(401)).toEqual({ fault: { type: "status", status: 401 } })
  })
})

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const bin = path.join(packageDir, "bin", "streamvisor-fake-server.js")
const built = fs.existsSync(path.join(packageDir, "dist", "bin.js"))

const run = (args: ReadonlyArray<string>) => {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "pipe"] })
  let stdout = ""
  let stderr = ""
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d))
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d))
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
  return { child, exited, out: () => stdout, err: () => stderr }
}

describe.skipIf(!built)("the built bin", () => {
  it("exits 2 with one stderr line on a bad script file", async () => {
    const proc = run(["--script", badShape])
    expect(await proc.exited).toBe(2)
    const lines = proc.err().split("\n").filter(Boolean)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^streamvisor-fake-server: script file .* is not a valid script/)
  })

  it("exits 2 on a missing script file", async () => {
    const proc = run(["--script", path.join(dir, "missing.json")])
    expect(await proc.exited).toBe(2)
    expect(proc.err().split("\n").filter(Boolean)).toHaveLength(1)
  })

  it("prints usage on --help", async () => {
    const proc = run(["--help"])
    expect(await proc.exited).toBe(0)
    expect(proc.out()).toMatch(/^Usage: streamvisor-fake-server/)
  })

  it("serves, then closes cleanly on SIGTERM", async () => {
    const proc = run(["--script", good])
    const url = await new Promise<string>((resolve, reject) => {
      const onData = () => {
        const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(proc.out())
        if (match !== null) resolve(match[1])
      }
      proc.child.stdout.on("data", onData)
      proc.exited.then((code) => reject(new Error(`exited ${code}: ${proc.err()}`)))
    })
    const response = await fetch(`${url}/api/chat`, { method: "POST", body: JSON.stringify({ model: "m", stream: false }) })
    expect(((await response.json()) as { message: { content: string } }).message.content).toBe("hi")
    proc.child.kill("SIGTERM")
    expect(await proc.exited).toBe(0)
    expect(proc.out()).toMatch(/closed on SIGTERM/)
  })

  it("plays the new script fields and answers a check's violation with the provider's 400", async () => {
    const proc = run(["--script", rich, "--validate", "gemini-thought-signature"])
    try {
      const url = await new Promise<string>((resolve, reject) => {
        proc.child.stdout.on("data", () => {
          const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(proc.out())
          if (match !== null) resolve(match[1])
        })
        proc.exited.then((code) => reject(new Error(`exited ${code}: ${proc.err()}`)))
      })
      const ok = await fetch(`${url}/v1/messages`, { method: "POST", body: JSON.stringify({ model: "m", max_tokens: 2048 }) })
      const message = (await ok.json()) as { content: Array<{ type: string }>; usage: Record<string, number> }
      expect(message.content.map((b) => b.type)).toEqual(["thinking", "redacted_thinking", "text", "tool_use"])
      expect(message.usage).toEqual({ input_tokens: 5, cache_creation_input_tokens: 1, cache_read_input_tokens: 4, output_tokens: 6 })
      const bad = await fetch(`${url}/v1/messages`, {
        method: "POST",
        body: JSON.stringify({ model: "m", messages: [{ role: "assistant", content: [{ type: "thinking", thinking: "x" }] }] })
      })
      expect(bad.status).toBe(400)
      const gemini = await fetch(`${url}/v1beta/models/g:generateContent`, {
        method: "POST",
        body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "q" }] }, { role: "model", parts: [{ functionCall: { name: "f" } }] }] })
      })
      expect(gemini.status).toBe(400)
    } finally {
      proc.child.kill("SIGTERM")
      expect(await proc.exited).toBe(0)
    }
  })
})
