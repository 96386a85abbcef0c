/**
 * Keeps the bench from rotting: runs `main.ts` in quick mode (every benchmark
 * at tiny sizes, in a child process as `pnpm bench` would) and checks the
 * shape of the JSON it writes. No timing threshold is asserted; the generous time limit only guards against a hang (a loaded 2-core machine has taken 60 s).
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const LIBRARIES = ["raw SDK", "streamvisor", "streamvisor (promise)", "Vercel AI SDK", "@effect/ai", "bytes-only floor"]
const FORMATS = ["anthropic", "openai-chat", "openai-responses", "gemini", "ollama"]

const runQuick = (output: string): Promise<{ stdout: string; stderr: string }> =>
  new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--expose-gc", "--import", "tsx", "main.ts"],
      { cwd: benchDir, env: { ...process.env, BENCH_QUICK: "1", BENCH_OUTPUT: output }, timeout: 150_000 },
      (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve({ stdout, stderr }))
    )
  })

describe("bench (quick mode)", () => {
  it("runs every benchmark and writes bench-results.json in the documented shape", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "streamvisor-bench-"))
    const output = path.join(dir, "bench-results.json")
    try {
      const { stdout } = await runQuick(output)
      const results = JSON.parse(fs.readFileSync(output, "utf8"))
      expect(results.node).toBe(process.version)
      expect(typeof results.cpu).toBe("string")
      expect(Number.isNaN(Date.parse(results.date))).toBe(false)
      expect(Array.isArray(results.rows)).toBe(true)
      for (const row of results.rows) {
        expect(typeof row.benchmark).toBe("string")
        expect(typeof row.wireFormat).toBe("string")
        expect(LIBRARIES).toContain(row.library)
        expect(row.value === null || typeof row.value === "number").toBe(true)
        expect(typeof row.unit).toBe("string")
        expect(row.ratioToRawSdk === null || typeof row.ratioToRawSdk === "number").toBe(true)
        // A missing value is always explained, and nothing failed.
        if (row.value === null) expect(typeof row.note).toBe("string")
        if (row.note !== undefined) expect(row.note).not.toMatch(/^failed/)
      }
      const benchmarks = new Set(results.rows.map((r: { benchmark: string }) => r.benchmark))
      for (const name of ["throughput", "time to first event", "cleanup latency p50", "cleanup latency p99"]) {
        expect(benchmarks).toContain(name)
      }
      expect([...benchmarks].some((b) => String(b).startsWith("leaks:"))).toBe(true)
      expect([...benchmarks].some((b) => String(b).startsWith("backpressure:"))).toBe(true)
      expect([...benchmarks].some((b) => String(b).startsWith("supervisor:"))).toBe(true)
      // Every library has a throughput row for every wire format (a value or an n/a).
      for (const library of LIBRARIES) {
        for (const format of FORMATS) {
          expect(results.rows.some((r: { benchmark: string; library: string; wireFormat: string }) =>
            r.benchmark === "throughput" && r.library === library && r.wireFormat === format
          )).toBe(true)
        }
      }
      // The raw SDK is the ratio's base.
      for (const row of results.rows.filter((r: { benchmark: string; library: string }) => r.benchmark === "throughput" && r.library === "raw SDK")) {
        expect(row.ratioToRawSdk).toBeCloseTo(1)
      }
      expect(stdout).toContain("| library |")
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }, 160_000)
})
