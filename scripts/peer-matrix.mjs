#!/usr/bin/env node
/**
 * Peer-range matrix: every SDK adapter tested at the LOWEST and the HIGHEST
 * version its `peerDependencies` range admits, so a range is a fact.
 *
 * For each adapter and each end it
 *  1. installs `<sdk>@<version>` with npm into a fresh temp directory (outside
 *     the workspace: its node_modules and pnpm-lock.yaml are never touched);
 *  2. type-checks the adapter's `src` against that version's types (tsc with a
 *     `paths` entry pointing the SDK at the temp copy);
 *  3. runs the adapter's own test files with vitest, every `import "<sdk>"`
 *     redirected to the temp copy (scripts/peer-matrix.vitest.config.ts),
 *     on the Node line that end needs.
 *
 * The ends come from the adapter's package.json: the low end is the range's
 * `>=` bound, the high end is the newest published version inside the range
 * (`npm view`), so a new SDK release is tested the day it is published.
 * The low end runs on Node 20.11.1, the `engines` floor (oldest SDK on the
 * oldest Node we claim); the high end on Node 22.23.3, the oldest line every
 * current SDK release supports (openai 7 needs Node >= 22). Both are fetched
 * as the `node` npm package.
 *
 * Usage: node scripts/peer-matrix.mjs [adapter…]   (default: all)
 * Needs a built workspace (`pnpm run build`) and network access to npm.
 */
import { execFileSync, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
/** The Node the low ends run on: the `engines` floor of every package. */
const NODE_LOW = "20.11.1"
/** The Node the high ends run on; keep in step with `test:node22` in package.json. */
const NODE_HIGH = "22.23.3"

/**
 * Every package's peers except `effect` itself (one copy of Effect must be
 * shared by the adapter, core and the SDK: it is linked from the workspace
 * into each temp install instead). Today: openai, @anthropic-ai/sdk,
 * @google/generative-ai and Ollama's @effect/platform; an adapter added later
 * joins the matrix by declaring its peer.
 */
const discover = () =>
  fs.readdirSync(path.join(root, "packages")).flatMap((adapter) => {
    const file = path.join(root, "packages", adapter, "package.json")
    if (!fs.existsSync(file) || !fs.existsSync(path.join(root, "packages", adapter, "test"))) return []
    // The cluster package's peers are Effect 3 packages that move in lockstep with effect itself
    // (each ^0.x range holds one or two patch releases today): tested at the pinned versions by
    // the suite, not cell by cell here, where a dozen Effect-ecosystem cells would cost minutes.
    if (adapter === "cluster") return []
    const peers = JSON.parse(fs.readFileSync(file, "utf8")).peerDependencies ?? {}
    return Object.keys(peers).filter((sdk) => sdk !== "effect").map((sdk) => ({ adapter, sdk, range: peers[sdk] }))
  })
const adapters = discover()

const npm = process.platform === "win32" ? "npm.cmd" : "npm"
const npx = process.platform === "win32" ? "npx.cmd" : "npx"

const lowEnd = (range) => {
  const match = /^\s*(?:>=|\^)\s*(\d+\.\d+\.\d+)/.exec(range)
  if (match === null) throw new Error(`peer range "${range}" has no ">=x.y.z" or "^x.y.z" lower bound`)
  return match[1]
}

const highEnd = (sdk, range) => {
  const out = execFileSync(npm, ["view", `${sdk}@${range}`, "version", "--json"], { encoding: "utf8" })
  const parsed = JSON.parse(out)
  // npm lists them in publication order, not semver order (6.30.1 after 6.49.0).
  const versions = (Array.isArray(parsed) ? parsed : [parsed]).map((v) => [v, v.split(".").map(Number)])
  versions.sort(([, a], [, b]) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2])
  return versions[versions.length - 1][0]
}

/**
 * tsc `paths` sending `<sdk>` and its subpaths to the declarations in the temp
 * copy, read from its `exports` map (ESM `types` condition): a `paths` entry
 * must name files, since NodeNext does not read a folder's package.json
 * through `paths`.
 */
const typesPaths = (sdk, pkgDir) => {
  const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, "package.json"), "utf8"))
  const typesOf = (target) =>
    typeof target === "object" && target !== null ? (target.import?.types ?? target.types) : undefined
  const paths = {}
  if (typeof pkg.exports === "object" && pkg.exports !== null && !Array.isArray(pkg.exports)) {
    for (const [key, target] of Object.entries(pkg.exports)) {
      const types = typesOf(target)
      if (key.startsWith(".") && typeof types === "string") paths[sdk + key.slice(1)] = [path.join(pkgDir, types)]
    }
  }
  if (paths[sdk] === undefined && typeof (pkg.types ?? pkg.typings) === "string") {
    paths[sdk] = [path.join(pkgDir, pkg.types ?? pkg.typings)]
  }
  if (paths[sdk] === undefined) throw new Error(`${pkgDir}: no types entry in package.json`)
  return paths
}

const seconds = (from) => ((Date.now() - from) / 1000).toFixed(1)

const run = (label, command, args, options = {}) => {
  const started = Date.now()
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit", ...options })
  const ok = result.status === 0
  console.log(`  ${ok ? "ok  " : "FAIL"} ${label} (${seconds(started)} s)`)
  return ok
}

const only = process.argv.slice(2)
const selected = only.length === 0 ? adapters : adapters.filter((a) => only.includes(a.adapter))
if (selected.length === 0) {
  console.error(`peer-matrix: no adapter among ${only.join(", ")}; known: ${adapters.map((a) => a.adapter).join(", ")}`)
  process.exit(2)
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), "streamvisor-peer-matrix-"))
const results = []
const started = Date.now()
try {
  for (const { adapter, sdk, range } of selected) {
    const ends = [
      { end: "lowest", version: lowEnd(range), node: NODE_LOW },
      { end: "highest", version: highEnd(sdk, range), node: NODE_HIGH }
    ]
    for (const { end, version, node } of ends) {
      const label = `${adapter}: ${sdk}@${version} (${end} of "${range}") on Node ${node}`
      console.log(`\n=== peer-matrix: ${label}`)
      const cellStarted = Date.now()
      const dir = path.join(work, `${adapter}-${version}`)
      fs.mkdirSync(dir, { recursive: true })
      fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ private: true }))
      // Peers are not installed (--legacy-peer-deps): the SDK's own `effect` peer is the
      // workspace's copy, linked in, so there is one Effect runtime in the test process.
      let ok = run(`install ${sdk}@${version}`, npm, [
        "install", "--no-audit", "--no-fund", "--ignore-scripts", "--no-package-lock", "--legacy-peer-deps",
        "--loglevel=error", `${sdk}@${version}`
      ], { cwd: dir })
      if (ok && !fs.existsSync(path.join(dir, "node_modules", "effect"))) {
        fs.symlinkSync(fs.realpathSync(path.join(root, "node_modules", "effect")), path.join(dir, "node_modules", "effect"), "dir")
      }

      if (ok) {
        // Type-check the adapter's source against this version's declarations.
        const tsconfig = path.join(dir, "tsconfig.json")
        fs.writeFileSync(tsconfig, JSON.stringify({
          extends: path.join(root, "tsconfig.base.json"),
          compilerOptions: {
            noEmit: true, declaration: false, declarationMap: false, sourceMap: false, composite: false,
            incremental: false, baseUrl: root, rootDir: root, typeRoots: [path.join(root, "node_modules", "@types")],
            paths: {
              ...typesPaths(sdk, path.join(dir, "node_modules", sdk)),
              "@streamvisor/core/promise": ["packages/core/src/promise.ts"],
              "@streamvisor/*": ["packages/*/src/index.ts"]
            }
          },
          include: [path.join(root, "packages", adapter, "src")]
        }))
        ok = run("tsc: adapter source against these types", process.execPath, [
          path.join(root, "node_modules", "typescript", "bin", "tsc"), "-p", tsconfig
        ])
      }

      if (ok) {
        const vitest = ["node_modules/vitest/vitest.mjs", "run", "--config", "scripts/peer-matrix.vitest.config.ts", `packages/${adapter}/test`]
        const env = { ...process.env, PEER_MATRIX_SDK: sdk, PEER_MATRIX_DIR: dir, PEER_MATRIX_VERSION: version }
        ok = run("vitest: the adapter's tests", npx, ["--yes", "-p", `node@${node}`, "node", ...vitest], { env })
        const marker = path.join(dir, "resolved.txt")
        if (ok && !fs.existsSync(marker)) {
          console.log(`  FAIL no import of "${sdk}" went to ${dir}: the redirect did not apply`)
          ok = false
        } else if (ok) {
          console.log(`  resolved ${fs.readFileSync(marker, "utf8").trim()}`)
        }
      }
      results.push({ label, ok, seconds: seconds(cellStarted) })
    }
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true })
}

console.log(`\n=== peer-matrix summary (${seconds(started)} s)`)
for (const { label, ok, seconds: s } of results) console.log(`${ok ? "ok  " : "FAIL"} ${s.padStart(6)} s  ${label}`)
const failed = results.filter((r) => !r.ok).length
if (failed > 0) {
  console.log(`peer-matrix: ${failed} of ${results.length} cells failed`)
  process.exit(1)
}
