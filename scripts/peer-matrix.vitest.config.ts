/**
 * The root vitest config with one SDK redirected to a copy installed outside
 * the workspace, so an adapter's tests run against another version of its peer
 * without touching the workspace's node_modules or lockfile. Driven by
 * scripts/peer-matrix.mjs through PEER_MATRIX_SDK (e.g. `openai`),
 * PEER_MATRIX_DIR (a directory holding `node_modules/<sdk>`) and
 * PEER_MATRIX_VERSION (the version that directory must hold).
 *
 * Every import of `<sdk>` or `<sdk>/…` (adapter source and test files alike)
 * is resolved as if imported from a file in PEER_MATRIX_DIR (so the copy's own
 * `exports` map applies), and the first such resolution writes
 * `<dir>/resolved.txt`: the script fails the run when that file is missing,
 * so a redirect that silently stopped applying cannot pass as a green run.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { defineConfig, mergeConfig } from "vitest/config"
import base from "../vitest.config.js"

const sdk = process.env.PEER_MATRIX_SDK
const dir = process.env.PEER_MATRIX_DIR
const version = process.env.PEER_MATRIX_VERSION
if (sdk === undefined || dir === undefined || version === undefined) {
  throw new Error("peer-matrix.vitest.config.ts: set PEER_MATRIX_SDK, PEER_MATRIX_DIR and PEER_MATRIX_VERSION")
}
const target = path.join(dir, "node_modules", sdk)
const installed = JSON.parse(fs.readFileSync(path.join(target, "package.json"), "utf8")).version
if (installed !== version) {
  throw new Error(`peer-matrix: ${target} holds ${sdk}@${installed}, expected ${version}`)
}
const marker = path.join(dir, "resolved.txt")
const manifest = JSON.parse(fs.readFileSync(path.join(target, "package.json"), "utf8"))

/** The target an `exports` entry gives an ESM import in Node (conditions `import`, `node`, `default`). */
const pick = (entry: unknown): string | undefined => {
  if (typeof entry === "string") return entry
  if (Array.isArray(entry)) return entry.map(pick).find((t) => t !== undefined)
  if (typeof entry !== "object" || entry === null) return undefined
  for (const [condition, value] of Object.entries(entry)) {
    if (condition === "import" || condition === "node" || condition === "default") {
      const found = pick(value)
      if (found !== undefined) return found
    }
  }
  return undefined
}

/**
 * `<sdk><subpath>` resolved through the copy's own `exports` map (exact keys,
 * then `*` patterns), as Node would for an `import`; `module`/`main` when it
 * has no `exports`.
 */
const resolveImport = (subpath: string): string => {
  const key = `.${subpath}`
  const exports = manifest.exports
  let relative: string | undefined
  if (exports === undefined) {
    relative = subpath === "" ? (manifest.module ?? manifest.main ?? "index.js") : subpath.slice(1)
  } else if (typeof exports === "string" || Array.isArray(exports) || !Object.keys(exports)[0]?.startsWith(".")) {
    relative = key === "." ? pick(exports) : undefined
  } else if (key in exports) {
    relative = pick(exports[key])
  } else {
    for (const [pattern, entry] of Object.entries(exports)) {
      const star = pattern.indexOf("*")
      if (star < 0) continue
      const [prefix, suffix] = [pattern.slice(0, star), pattern.slice(star + 1)]
      if (key.startsWith(prefix) && key.endsWith(suffix) && key.length >= prefix.length + suffix.length) {
        const match = key.slice(prefix.length, key.length - suffix.length)
        relative = pick(entry)?.replaceAll("*", match)
        break
      }
    }
  }
  if (relative === undefined) throw new Error(`peer-matrix: ${sdk}@${installed} exports no "${key}" for import`)
  const file = path.join(target, relative)
  if (!fs.existsSync(file)) throw new Error(`peer-matrix: ${sdk}${subpath} resolved to ${file}, which does not exist`)
  return file
}

export default mergeConfig(
  base,
  defineConfig({
    plugins: [
      {
        name: "peer-matrix-redirect",
        enforce: "pre",
        resolveId(source) {
          if (source !== sdk && !source.startsWith(`${sdk}/`)) return null
          const file = resolveImport(source.slice(sdk.length))
          if (!fs.existsSync(marker)) fs.writeFileSync(marker, `${sdk}@${installed} ${file}\n`)
          return file
        }
      }
    ]
  })
)
