/**
 * The set-up core's end-to-end suites share: one FakeLlmServer for the test
 * file, reset after each test, and every unhandled rejection of the process
 * while the file runs (the leak checks assert there was none).
 *
 * Call `useFakeServer()` at the top of the file; `server` is set once its
 * `beforeAll` has run.
 */
import { FakeLlmServer } from "@streamvisor/testkit"
import { afterEach, beforeAll } from "vitest"

/** The file's server, started by the `beforeAll` of {@link useFakeServer}. */
export let server: FakeLlmServer.Server

/** Every unhandled rejection since the file's tests started. */
export const unhandled: Array<unknown> = []

const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason)
}

/** Start the server (and the rejection watch) before the file's tests, reset it after each, close it after all. */
export const useFakeServer = (): void => {
  beforeAll(async () => {
    process.on("unhandledRejection", onUnhandled)
    server = await FakeLlmServer.start()
    return async () => {
      process.off("unhandledRejection", onUnhandled)
      await server.close()
    }
  })
  afterEach(() => server.reset())
}
