/**
 * Type-checks every JSDoc ```ts block of every package's `src`: each block is
 * written as a module of its own under `.docs-check/` (inside the repo, so
 * `node_modules` resolve: `test/.docs-check/`), `@streamvisor/*` mapped to the packages' sources
 * the way `tsconfig.json` and `vitest.config.ts` map them, and `tsc --noEmit`
 * runs over all of them at once. An error is reported at the source file and
 * line of its example.
 *
 * Usage: `tsx scripts/docs-check.ts [package…]` (default: every package).
 * Exit code 1 when an example does not compile.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
// Under test/: its node_modules hold every package and SDK an example imports.
const out = path.join(root, "test", ".docs-check")

interface Example {
  readonly source: string
  readonly line: number
  readonly code: string
}

const walk = (dir: string): Array<string> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    return entry.isDirectory() ? walk(full) : entry.name.endsWith(".ts") ? [full] : []
  })

/** The ```ts blocks of the file's JSDoc comments, with the line each starts on. */
const examplesOf = (file: string): Array<Example> => {
  const lines = fs.readFileSync(file, "utf8").split("\n")
  const examples: Array<Example> = []
  let start: number | undefined
  let code: Array<string> = []
  lines.forEach((text, index) => {
    const inner = /^\s*\*\s?(.*)$/.exec(text)?.[1]
    if (inner === undefined) return
    if (start === undefined && /^```(ts|typescript)\s*$/.test(inner.trim())) {
      start = index + 2
      code = []
    } else if (start !== undefined && inner.trim() === "```") {
      examples.push({ source: path.relative(root, file), line: start, code: code.join("\n") })
      start = undefined
    } else if (start !== undefined) {
      code.push(inner)
    }
  })
  return examples
}

const packages = process.argv.slice(2).length > 0
  ? process.argv.slice(2)
  : fs.readdirSync(path.join(root, "packages")).filter((name) => fs.existsSync(path.join(root, "packages", name, "src")))

fs.rmSync(out, { recursive: true, force: true })
fs.mkdirSync(out, { recursive: true })
const written = new Map<string, Example>()
for (const name of packages) {
  for (const file of walk(path.join(root, "packages", name, "src"))) {
    examplesOf(file).forEach((example, index) => {
      const target = path.join(out, name, `${path.basename(file, ".ts")}.${index + 1}.ts`)
      fs.mkdirSync(path.dirname(target), { recursive: true })
      // `export {}` makes each block a module, so blocks never see each other's names.
      fs.writeFileSync(target, `${example.code}\nexport {}\n`)
      written.set(path.relative(root, target), example)
    })
  }
}

const rootPaths: Record<string, ReadonlyArray<string>> =
  JSON.parse(fs.readFileSync(path.join(root, "tsconfig.json"), "utf8")).compilerOptions.paths

fs.writeFileSync(
  path.join(out, "tsconfig.json"),
  JSON.stringify(
    {
      extends: "../../tsconfig.base.json",
      compilerOptions: {
        noEmit: true,
        declaration: false,
        declarationMap: false,
        sourceMap: false,
        noUnusedLocals: false,
        noUnusedParameters: false,
        baseUrl: "../..",
        // The same mapping as the root tsconfig.json, so a new subpath export needs no change here.
        paths: rootPaths
      },
      include: ["./**/*.ts"]
    },
    null,
    2
  )
)

const tsc = spawnSync(process.execPath, [require_tsc(), "-p", path.join(out, "tsconfig.json"), "--pretty", "false"], {
  cwd: root,
  encoding: "utf8"
})

function require_tsc(): string {
  return path.join(root, "node_modules", "typescript", "bin", "tsc")
}

const failing = new Map<string, Array<string>>()
for (const line of `${tsc.stdout}${tsc.stderr}`.split("\n")) {
  const match = /^(.+?)\((\d+),(\d+)\): (error .*)$/.exec(line)
  if (match === null) continue
  const example = written.get(path.normalize(match[1]))
  // Only errors inside an example count; one in a package's source is `typecheck`'s job.
  if (example === undefined) continue
  const at = `${example.source}:${example.line + Number(match[2]) - 1}`
  failing.set(at, [...(failing.get(at) ?? []), match[4]])
}

const sources = new Set(Array.from(written.values(), (example) => example.source))
if (failing.size === 0 && tsc.status !== 0 && !/error/.test(tsc.stdout)) {
  console.error(tsc.stdout, tsc.stderr)
  process.exit(1)
}
for (const [at, errors] of failing) for (const error of errors) console.error(`${at}: ${error}`)
console.log(
  `docs:check: ${written.size} examples in ${sources.size} files of ${packages.join(", ")}; ` +
    `${failing.size === 0 ? "all compile" : `${failing.size} lines with errors`}`
)
process.exit(failing.size === 0 ? 0 : 1)
