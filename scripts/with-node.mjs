#!/usr/bin/env node
/**
 * Run a command on another Node line (fetched as the `node` npm package), with the workspace's
 * native addons built for that line's ABI.
 *
 *   node scripts/with-node.mjs 22.23.3 node_modules/vitest/vitest.mjs run
 *
 * Why: better-sqlite3 (the SQLite driver under `@effect/sql-sqlite-node`) is built from source at
 * install time for the Node that installs (20 here: no prebuilt download on these machines), and a
 * Node 22 or 24 process refuses an addon of another ABI (`NODE_MODULE_VERSION`), so every SQLite
 * suite would fail on those lines. This script builds the addon for the target Node with node-gyp
 * against the headers the `node` npm package ships (`node-<platform>-<arch>/include`: nothing is
 * downloaded; ~60 s, cached under node_modules/.cache/streamvisor-native/<version>/), swaps it in
 * for the run, and always puts the install's own build back afterwards.
 */
import { execFileSync, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const [version, ...command] = process.argv.slice(2)
if (version === undefined || command.length === 0) {
  console.error("usage: node scripts/with-node.mjs <node version> <script> [args…]")
  process.exit(2)
}

const npx = process.platform === "win32" ? "npx.cmd" : "npx"
const nodeBinary = execFileSync(npx, ["--yes", "-p", `node@${version}`, "node", "-p", "process.execPath"], {
  encoding: "utf8"
}).trim()
const nodePackage = path.dirname(path.dirname(nodeBinary))
const nodeDir = [path.join(nodePackage, "node_modules", `node-${process.platform}-${process.arch}`), nodePackage]
  .find((dir) => fs.existsSync(path.join(dir, "include", "node", "node_version.h")))

/** Every installed copy of a native addon this workspace builds from source. */
const addons = () => {
  const store = path.join(root, "node_modules", ".pnpm")
  if (!fs.existsSync(store)) return []
  return fs.readdirSync(store)
    .filter((entry) => entry.startsWith("better-sqlite3@"))
    .map((entry) => path.join(store, entry, "node_modules", "better-sqlite3"))
    .filter((dir) => fs.existsSync(path.join(dir, "binding.gyp")))
}

const nodeGyp = path.join(path.dirname(fs.realpathSync(process.execPath)), "..", "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js")
const built = (dir) => path.join(dir, "build", "Release", "better_sqlite3.node")

/**
 * Replace a file by a copy, unlinking it first: pnpm hard-links installed files to its store
 * (and so to every other checkout), and writing through the link would change them all.
 */
const replace = (target, source) => {
  fs.rmSync(target, { force: true })
  fs.copyFileSync(source, target)
}

const swaps = []
const restore = () => {
  for (const { target, backup } of swaps) replace(target, backup)
}

/**
 * better-sqlite3 12.11.1 (the newest that builds on Node 20) aborts a Node 24 worker at exit: a
 * `Statement` finalised after the environment is torn down trips `RemoveEnvironmentCleanupHook`'s
 * assertion (seen 2026-12-02). On such a line the SQLite suites are skipped, and the skip printed.
 */
const sqliteBroken = Number(version.split(".")[0]) >= 24
  ? "better-sqlite3 12.11.1 aborts Node 24 workers at exit (RemoveEnvironmentCleanupHook assertion in Statement::~Statement); they run on Node 20 and 22"
  : undefined

let status = 1
try {
  for (const dir of sqliteBroken === undefined ? addons() : []) {
    const target = built(dir)
    if (!fs.existsSync(target)) continue
    const name = path.basename(path.dirname(path.dirname(dir)))
    const cache = path.join(root, "node_modules", ".cache", "streamvisor-native", version, name)
    const cached = path.join(cache, "better_sqlite3.node")
    const backup = path.join(root, "node_modules", ".cache", "streamvisor-native", "install", name, "better_sqlite3.node")
    fs.mkdirSync(path.dirname(backup), { recursive: true })
    if (!fs.existsSync(backup)) fs.copyFileSync(target, backup)
    if (!fs.existsSync(cached)) {
      if (nodeDir === undefined) throw new Error(`with-node: no headers for Node ${version} beside ${nodeBinary}`)
      console.log(`with-node: building ${name} for Node ${version} (headers from ${nodeDir})`)
      const started = Date.now()
      // Build in a scratch copy so the install's own build is never half-overwritten.
      const scratch = fs.mkdtempSync(path.join(root, "node_modules", ".cache", "streamvisor-native-build-"))
      try {
        fs.cpSync(dir, scratch, { recursive: true, dereference: true, filter: (src) => !src.includes(`${path.sep}build${path.sep}`) })
        // node-gyp lets `npm_config_*` variables override its flags, and `npm run` exports this
        // machine's `nodedir` (the installing Node's headers): set it to the target's.
        const result = spawnSync(process.execPath, [nodeGyp, "rebuild", "--release", `--nodedir=${nodeDir}`], {
          cwd: scratch,
          env: { ...process.env, npm_config_nodedir: nodeDir },
          stdio: ["ignore", "ignore", "inherit"]
        })
        if (result.status !== 0) throw new Error(`with-node: node-gyp failed for ${name} on Node ${version}`)
        // Prove it is the target's ABI before caching it (a wrong build fails here, not in the suite).
        const check = spawnSync(nodeBinary, ["-e", `process.dlopen({ exports: {} }, ${JSON.stringify(built(scratch))})`], {
          stdio: ["ignore", "ignore", "inherit"]
        })
        if (check.status !== 0) throw new Error(`with-node: the ${name} built for Node ${version} does not load there`)
        fs.mkdirSync(cache, { recursive: true })
        fs.copyFileSync(built(scratch), cached)
      } finally {
        fs.rmSync(scratch, { recursive: true, force: true })
      }
      console.log(`with-node: built in ${((Date.now() - started) / 1000).toFixed(1)} s`)
    }
    swaps.push({ target, backup })
    replace(target, cached)
  }
  if (sqliteBroken !== undefined) console.log(`with-node: SQLite suites skipped on Node ${version}: ${sqliteBroken}`)
  const run = spawnSync(nodeBinary, command, {
    cwd: root,
    stdio: "inherit",
    env: sqliteBroken === undefined ? process.env : { ...process.env, STREAMVISOR_SKIP_SQLITE: sqliteBroken }
  })
  status = run.status ?? 1
} catch (error) {
  console.error(String(error instanceof Error ? error.message : error))
  status = 1
} finally {
  restore()
}
process.exit(status)
