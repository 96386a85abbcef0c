import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

const root = path.dirname(fileURLToPath(import.meta.url))
const pkg = (name: string, file = "index.ts") => path.join(root, "packages", name, "src", file)

// The suites that load better-sqlite3 (SQLite, and the shared store suites beside it). A Node line
// that cannot run the addon names its reason in STREAMVISOR_SKIP_SQLITE (set by
// scripts/with-node.mjs); the skip is printed, never silent.
const sqliteSuites = [
  "packages/cluster/test/ClusterSessions.test.ts",
  "packages/cluster/test/SqliteSessionStore.test.ts",
  "packages/cluster/test/SqlSessionStore.test.ts",
  "packages/cluster/test/PgSessionStore.test.ts",
  "packages/cluster/test/MultiRunner.test.ts",
  "packages/cluster/test/SupervisorRestart.test.ts"
]
const sqliteSkip = process.env.STREAMVISOR_SKIP_SQLITE
if (sqliteSkip !== undefined && sqliteSkip !== "") {
  console.log(`[vitest] SKIPPED on Node ${process.versions.node}: ${sqliteSuites.length} SQLite suites (${sqliteSuites.join(", ")}): ${sqliteSkip}`)
}
const sqliteExcluded = sqliteSkip !== undefined && sqliteSkip !== "" ? sqliteSuites : []

export default defineConfig({
  resolve: {
    alias: [
      { find: /^@streamvisor\/core\/promise$/, replacement: pkg("core", "promise.ts") },
      { find: /^@streamvisor\/supervisor\/promise$/, replacement: pkg("supervisor", "promise.ts") },
      { find: /^@streamvisor\/google\/genai$/, replacement: pkg("google", "genai.ts") },
      { find: /^@streamvisor\/cluster\/sqlite$/, replacement: pkg("cluster", "sqlite.ts") },
      { find: /^@streamvisor\/cluster\/pg$/, replacement: pkg("cluster", "pg.ts") },
      ...["core", "testkit", "anthropic", "openai", "google", "ollama", "supervisor", "cluster"].map((name) => ({
        find: new RegExp(`^@streamvisor/${name}$`),
        replacement: pkg(name)
      }))
    ]
  },
  test: {
    include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**", ...sqliteExcluded],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: "forks",
    poolOptions: { forks: { execArgv: ["--expose-gc"] } },
    reporters: ["default", "./test/reporters/SummaryLine.ts"],
    sequence: { hooks: "stack" }
  }
})
