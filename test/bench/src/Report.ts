/**
 * Results: rows as `bench-results.json` holds them, and one markdown table per
 * benchmark for stdout.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import type { LibraryName } from "./libraries/Library.js"

export interface Row {
  readonly benchmark: string
  /** A wire format, or `"-"` where the benchmark is not per format. */
  readonly wireFormat: string
  readonly library: LibraryName
  /** `null` when the library cannot do it (see `note`). */
  readonly value: number | null
  readonly unit: string
  /** `value / raw SDK value` of the same benchmark and format, when there is one. */
  readonly ratioToRawSdk: number | null
  readonly note?: string
}

export interface Results {
  readonly node: string
  readonly cpu: string
  readonly date: string
  readonly settings: Record<string, unknown>
  readonly rows: ReadonlyArray<Row>
}

const RAW = "raw SDK"

/**
 * Fills `ratioToRawSdk` for the benchmarks in `compared`: the value over the
 * raw SDK row of the same format in the base benchmark it maps to (usually
 * itself). Elsewhere it is null.
 */
export const withRatios = (
  rows: ReadonlyArray<Omit<Row, "ratioToRawSdk">>,
  compared: ReadonlyMap<string, string>
): Array<Row> =>
  rows.map((row) => {
    const baseBenchmark = compared.get(row.benchmark)
    const base = baseBenchmark === undefined
      ? undefined
      : rows.find((r) => r.benchmark === baseBenchmark && r.wireFormat === row.wireFormat && r.library === RAW)
    const ratio = base === undefined || base.value === null || base.value === 0 || row.value === null
      ? null
      : row.value / base.value
    return { ...row, ratioToRawSdk: ratio }
  })

const formatValue = (row: Row): string => {
  if (row.value === null) return "n/a"
  const v = row.value
  const digits = Number.isInteger(v) || Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2
  return `${v.toFixed(digits)} ${row.unit}`
}

const formatRatio = (row: Row): string => (row.ratioToRawSdk === null ? "" : `${row.ratioToRawSdk.toFixed(2)}×`)

/**
 * A markdown table: a column per wire format (value, and ratio where there is
 * one), a row per library, or per benchmark and library when `rows` hold
 * several benchmarks; notes below.
 */
export const table = (title: string, rows: ReadonlyArray<Row>): string => {
  const formats = [...new Set(rows.map((r) => r.wireFormat))]
  const benchmarks = [...new Set(rows.map((r) => r.benchmark))]
  const several = benchmarks.length > 1
  const lines = [`### ${title}`, ""]
  lines.push(`| ${several ? "benchmark | " : ""}library | ${formats.join(" | ")} |`)
  lines.push(`|${several ? "---|" : ""}---|${formats.map(() => "---").join("|")}|`)
  const notes: Array<string> = []
  for (const benchmark of benchmarks) {
    const ofBenchmark = rows.filter((r) => r.benchmark === benchmark)
    for (const library of new Set(ofBenchmark.map((r) => r.library))) {
      const cells = formats.map((format) => {
        const row = ofBenchmark.find((r) => r.library === library && r.wireFormat === format)
        if (row === undefined) return ""
        let cell = formatValue(row)
        if (row.library !== RAW && row.ratioToRawSdk !== null) cell += ` (${formatRatio(row)})`
        if (row.note !== undefined) {
          if (!notes.includes(row.note)) notes.push(row.note)
          cell += ` [${notes.indexOf(row.note) + 1}]`
        }
        return cell
      })
      lines.push(`| ${several ? `${benchmark} | ` : ""}${library} | ${cells.join(" | ")} |`)
    }
  }
  if (notes.length > 0) {
    lines.push("")
    notes.forEach((note, i) => lines.push(`[${i + 1}] ${note}`))
  }
  return lines.join("\n")
}

export const results = (rows: ReadonlyArray<Row>, settings: Record<string, unknown>): Results => ({
  node: process.version,
  cpu: os.cpus()[0]?.model ?? "unknown",
  date: new Date().toISOString(),
  settings,
  rows
})

export const write = (file: string, value: Results): void => {
  fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`)
}
