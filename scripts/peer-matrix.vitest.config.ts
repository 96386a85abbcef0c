/**
 * The root vitest config with one SDK redirected to a copy installed outside
 * the workspace, so an adapter's tests run against another version of its peer
 * without touching the workspace's node_modules or lockfile. Driven by
 * scripts/peer-matrix.mjs through PEER_MATRIX_SDK (e.g. `openai`),
 * PEER_MATRIX_DIR (a directory holding `node_modules/<sdk>`) and
 * PEER_MATRIX_VERSION (the version that directory must hold).
 *
 * Every import of exactly `<sdk>` (adapter source and test files alike) is
 * resolved from PEER_MATRIX_DIR, and the first such resolution writes
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

export default mergeConfig(
  base,
  defineConfig({
    plugins: [
      {
        name: "peer-matrix-redirect",
        enforce: "pre",
        async resolveId(source, importer) {
          if (source !== sdk) return null
          const resolved = await this.resolve(target, importer, { skipSelf: true })
          if (resolved !== null && !fs.existsSync(marker)) {
            fs.writeFileSync(marker, `${sdk}@${installed} ${resolved.id}\n`)
          }
          return resolved
        }
      }
    ]
  })
)
