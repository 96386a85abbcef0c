/**
 * Argument parsing and script-file validation of the standalone `streamvisor-fake-server`.
 * Kept free of side effects so it can be tested directly.
 */
import * as fs from "node:fs"
import * as Either from "effect/Either"
import * as Fixtures from "../Fixtures.js"
import * as RequestCheck from "../RequestCheck.js"
import * as Script from "../Script.js"

/** What the command line asked for. */
export type Command =
  | { readonly _tag: "Help" }
  | { readonly _tag: "Error"; readonly message: string }
  | {
      readonly _tag: "Serve"
      readonly port: number
      readonly host: string
      readonly script: Script.Script | undefined
      /** What the script came from, for the banner. */
      readonly source: string
      /** Request checks applied to every request. */
      readonly validate: ReadonlyArray<RequestCheck.CheckName>
    }

/** The usage text printed by `--help`. */
export const usage = `Usage: streamvisor-fake-server [--port N] [--host H] [--script file.json | --fixture <format>/<name>] [--validate <check>,…]

A fake LLM server speaking the Anthropic, OpenAI (Chat and Responses), Gemini and Ollama
streaming wire formats. Serves until SIGINT / SIGTERM.

Options:
  --port N                    port to listen on (default 0: an ephemeral port)
  --host H                    host to bind (default 127.0.0.1)
  --script file.json          a Script as JSON (events, delayMs, firstDelayMs, usage,
                              finishReason, fault, keepAlive, validate) or {"replay":{"chunks":[...]}}
  --fixture <format>/<name>   replay a recorded fixture (formats: ${Fixtures.formats.join(", ")})
  --validate <check>,…        check every request as the provider does, answering its 400
                              (checks: ${RequestCheck.checkNames.join(", ")})
  -h, --help                  print this help

Routes: POST /v1/messages, /v1/chat/completions, /v1/responses,
        /v1beta/models/{model}:streamGenerateContent?alt=sse, :generateContent, /api/chat`

const oneLine = (text: string): string => text.replace(/\s*[\r\n]+\s*/g, " ").trim()

const error = (message: string): Command => ({ _tag: "Error", message: oneLine(message) })

/** Reads and validates a script file; the error is a single line. */
export const loadScriptFile = (path: string): Either.Either<Script.Script, string> => {
  let text: string
  try {
    text = fs.readFileSync(path, "utf8")
  } catch (cause) {
    const code = (cause as { code?: string }).code
    return Either.left(oneLine(`cannot read script file ${path}${code === undefined ? "" : ` (${code})`}`))
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (cause) {
    return Either.left(oneLine(`script file ${path} is not valid JSON: ${(cause as Error).message}`))
  }
  return Either.mapLeft(Script.decode(value), (message) => oneLine(`script file ${path} is not a valid script: ${message}`))
}

/** Parses the command line (without `node` and the script path). Reads a script file if one is named. */
export const parseArgs = (argv: ReadonlyArray<string>): Command => {
  let port = 0
  let host = "127.0.0.1"
  let scriptFile: string | undefined
  let fixture: string | undefined
  const validate: Array<RequestCheck.CheckName> = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === "-h" || arg === "--help") return { _tag: "Help" }
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1
    const name = eq >= 0 ? arg.slice(0, eq) : arg
    const takeValue = (): string | undefined => {
      if (eq >= 0) return arg.slice(eq + 1)
      const next = argv[i + 1]
      if (next === undefined || next.startsWith("--")) return undefined
      i++
      return next
    }
    switch (name) {
      case "--port": {
        const value = takeValue()
        const n = Number(value)
        if (value === undefined || value === "" || !Number.isInteger(n) || n < 0 || n > 65535) {
          return error(`--port needs an integer between 0 and 65535, got ${value === undefined ? "nothing" : JSON.stringify(value)}`)
        }
        port = n
        break
      }
      case "--host": {
        const value = takeValue()
        if (value === undefined || value === "") return error("--host needs a value")
        host = value
        break
      }
      case "--script": {
        const value = takeValue()
        if (value === undefined || value === "") return error("--script needs a file path")
        scriptFile = value
        break
      }
      case "--fixture": {
        const value = takeValue()
        if (value === undefined || value === "") return error("--fixture needs <format>/<name>")
        fixture = value
        break
      }
      case "--validate": {
        const value = takeValue()
        if (value === undefined || value === "") return error(`--validate needs one of ${RequestCheck.checkNames.join(", ")}`)
        for (const name of value.split(",").map((n) => n.trim())) {
          if (!RequestCheck.isCheckName(name)) {
            return error(`unknown check ${JSON.stringify(name)} (checks: ${RequestCheck.checkNames.join(", ")})`)
          }
          validate.push(name)
        }
        break
      }
      default:
        return error(`unknown argument ${JSON.stringify(arg)} (see --help)`)
    }
  }
  if (scriptFile !== undefined && fixture !== undefined) return error("use either --script or --fixture, not both")
  if (scriptFile !== undefined) {
    const loaded = loadScriptFile(scriptFile)
    if (Either.isLeft(loaded)) return error(loaded.left)
    return { _tag: "Serve", port, host, script: loaded.right, source: `script ${scriptFile}`, validate }
  }
  if (fixture !== undefined) {
    try {
      const { format, name } = Fixtures.parseId(fixture)
      return { _tag: "Serve", port, host, script: Fixtures.script(format, name), source: `fixture ${format}/${name}`, validate }
    } catch (cause) {
      return error((cause as Error).message)
    }
  }
  return { _tag: "Serve", port, host, script: undefined, source: "default script", validate }
}
