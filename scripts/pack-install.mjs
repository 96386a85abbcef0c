#!/usr/bin/env node
/**
 * Install as a user would: pack every package (`pnpm pack`, which turns
 * `workspace:^` into real ranges), install the tarballs with npm on Node 22
 * into an empty project together with the current SDK releases, compile
 * test/install/main.ts there with a user's strict `tsc` (declarations
 * checked: `skipLibCheck: false`) and run it against the packed testkit's
 * FakeLlmServer on Node 22 and Node 24. Also: a bundler user's tsc
 * (`moduleResolution: "Bundler"`) and a CommonJS user's `require()` of every
 * entry point on Node 22 and 24.
 *
 * It catches what the workspace hides: a wrong `exports` map or `types` path,
 * a file missing from `files`, a peer range that conflicts with the SDK npm
 * installs today (npm fails with ERESOLVE), a declaration that only compiles
 * against the workspace's pinned SDK.
 *
 * Usage: node scripts/pack-install.mjs      (after `pnpm run build`; needs npm registry access)
 * PACK_INSTALL_KEEP=1 keeps the temp project and prints where it is.
 */
import { execFileSync, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
/** Keep in step with `test:node22` / `test:node24` in package.json. */
const NODE_22 = "22.23.3"
const NODE_24 = "24.21.0"

/**
 * What a user adds beside our packages today: the newest SDK releases (npm's
 * `latest` tag, so a release outside our peer ranges fails this step) and the
 * newest Effect 3 (`effect@latest` is Effect 4, which streamvisor does not
 * support yet).
 */
const userDependencies = [
  "openai@latest",
  "@anthropic-ai/sdk@latest",
  "@google/generative-ai@latest",
  "@google/genai@latest",
  "effect@^3.22.0",
  "@effect/platform@^0.97.0",
  "typescript@5.9.3",
  "@types/node@^22"
]

/** Every public entry point, with one namespace it must export. */
const entries = [
  ["@streamvisor/core", "Ledger"],
  ["@streamvisor/core/promise", "streamText"],
  ["@streamvisor/anthropic", "Anthropic"],
  ["@streamvisor/openai", "OpenAI"],
  ["@streamvisor/google", "Google"],
  ["@streamvisor/google/genai", "GoogleGenAI"],
  ["@streamvisor/ollama", "Ollama"],
  ["@streamvisor/supervisor", "Supervisor"],
  ["@streamvisor/supervisor/promise", "startSupervisor"],
  ["@streamvisor/testkit", "FakeLlmServer"]
]

const npx = process.platform === "win32" ? "npx.cmd" : "npx"
const npmCli = path.join(path.dirname(fs.realpathSync(process.execPath)), "..", "lib", "node_modules", "npm", "bin", "npm-cli.js")
const pnpm = path.join(root, "node_modules", ".bin", process.platform === "win32" ? "pnpm.cmd" : "pnpm")

const seconds = (from) => ((Date.now() - from) / 1000).toFixed(1)

const step = (label, command, args, options = {}) => {
  console.log(`\n--- ${label}`)
  const started = Date.now()
  const result = spawnSync(command, args, { stdio: "inherit", ...options })
  console.log(`--- ${result.status === 0 ? "ok" : "FAIL"}: ${label} (${seconds(started)} s)`)
  if (result.status !== 0) throw new Error(`pack-install: ${label} failed`)
}

/** `node@<version>` fetched as the npm package, running `args`. */
const onNode = (version, args) => [npx, ["--yes", "-p", `node@${version}`, "node", ...args]]

if (!fs.existsSync(npmCli)) throw new Error(`pack-install: npm's CLI is not at ${npmCli}`)

const work = fs.mkdtempSync(path.join(os.tmpdir(), "streamvisor-pack-install-"))
const started = Date.now()
let failed = false
try {
  // 1. Pack every public package.
  const tarballs = path.join(work, "tarballs")
  fs.mkdirSync(tarballs)
  const packages = fs.readdirSync(path.join(root, "packages")).filter((name) => {
    const file = path.join(root, "packages", name, "package.json")
    return fs.existsSync(file) && JSON.parse(fs.readFileSync(file, "utf8")).private !== true
  })
  for (const name of packages) {
    step(`pnpm pack @streamvisor/${name}`, pnpm, ["pack", "--pack-destination", tarballs], {
      cwd: path.join(root, "packages", name),
      stdio: ["ignore", "ignore", "inherit"]
    })
  }
  const files = fs.readdirSync(tarballs).filter((f) => f.endsWith(".tgz")).map((f) => path.join(tarballs, f))
  console.log(`packed: ${files.map((f) => path.basename(f)).join(", ")}`)

  // 2. An empty project; npm on Node 22 installs the tarballs and the current SDKs.
  const app = path.join(work, "app")
  fs.mkdirSync(app)
  fs.writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "streamvisor-install-check", private: true, type: "module" }, null, 2))
  fs.copyFileSync(path.join(root, "test", "install", "main.ts"), path.join(app, "main.ts"))
  fs.writeFileSync(path.join(app, "tsconfig.json"), JSON.stringify({
    compilerOptions: {
      target: "ES2022",
      lib: ["ES2022", "DOM"],
      module: "NodeNext",
      moduleResolution: "NodeNext",
      strict: true,
      skipLibCheck: false,
      types: ["node"],
      outDir: "out"
    },
    files: ["main.ts"]
  }, null, 2))
  // A bundler user's tsc (Vite, Next, esbuild): `exports` read with the `import` and `types` conditions.
  fs.writeFileSync(path.join(app, "tsconfig.bundler.json"), JSON.stringify({
    extends: "./tsconfig.json",
    compilerOptions: { module: "ESNext", moduleResolution: "Bundler", noEmit: true }
  }, null, 2))
  // A CommonJS user on Node 22+ (`require` of an ES module): needs a `default` condition in `exports`.
  fs.writeFileSync(path.join(app, "require.cjs"), [
    "const assert = require(\"node:assert/strict\")",
    ...entries.map(([id, name]) => `assert.notEqual(require(${JSON.stringify(id)}).${name}, undefined, ${JSON.stringify(`${id} exports ${name}`)})`),
    "console.log(\"ok require() of every entry point\")",
    ""
  ].join("\n"))
  // npm only warns ("ERESOLVE overriding peer dependency") and installs anyway when the conflicting
  // version is not pinned by the user (`npm install effect` gets Effect 4 beside our ^3.22 peer):
  // such a warning fails the step as well.
  const npmLog = path.join(work, "npm-install.log")
  try {
    step("npm install (Node 22): the tarballs and the current SDKs", ...onNode(NODE_22, [
      npmCli, "install", "--no-audit", "--no-fund", "--loglevel=warn", ...files, ...userDependencies
    ]), { cwd: app, stdio: ["ignore", "inherit", fs.openSync(npmLog, "w")] })
  } finally {
    process.stderr.write(fs.readFileSync(npmLog, "utf8"))
  }
  if (/ERESOLVE|overriding peer/i.test(fs.readFileSync(npmLog, "utf8"))) {
    throw new Error("pack-install: npm reported a peer-dependency conflict (see the log above)")
  }
  const installed = JSON.parse(execFileSync(process.execPath, [npmCli, "ls", "--depth=0", "--json"], { cwd: app, encoding: "utf8" }))
  console.log("installed:", Object.entries(installed.dependencies).map(([n, d]) => `${n}@${d.version}`).join(", "))

  // 3. A user's tsc over our declarations, then the program on each Node line.
  step("tsc (Node 22, strict, skipLibCheck false)", ...onNode(NODE_22, [path.join(app, "node_modules", "typescript", "bin", "tsc"), "-p", app]), { cwd: app })
  step("tsc (moduleResolution Bundler)", ...onNode(NODE_22, [path.join(app, "node_modules", "typescript", "bin", "tsc"), "-p", path.join(app, "tsconfig.bundler.json")]), { cwd: app })
  step("require() from CommonJS on Node 22", ...onNode(NODE_22, [path.join(app, "require.cjs")]), { cwd: app })
  step("require() from CommonJS on Node 24", ...onNode(NODE_24, [path.join(app, "require.cjs")]), { cwd: app })
  step("bin: streamvisor-fake-server --help (Node 22)", ...onNode(NODE_22, [path.join(app, "node_modules", "@streamvisor", "testkit", "bin", "streamvisor-fake-server.js"), "--help"]), { cwd: app, stdio: ["ignore", "ignore", "inherit"] })
  step("main.js on Node 22", ...onNode(NODE_22, [path.join(app, "out", "main.js")]), { cwd: app })
  step("main.js on Node 24", ...onNode(NODE_24, [path.join(app, "out", "main.js")]), { cwd: app })
} catch (error) {
  failed = true
  console.error(error instanceof Error ? error.message : error)
} finally {
  if (process.env.PACK_INSTALL_KEEP === "1") console.log(`kept ${work}`)
  else fs.rmSync(work, { recursive: true, force: true })
}
console.log(`\npack-install: ${failed ? "FAILED" : "ok"} (${seconds(started)} s)`)
process.exit(failed ? 1 : 0)
