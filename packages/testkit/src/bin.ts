/**
 * `streamvisor-fake-server`: runs a FakeLlmServer until SIGINT / SIGTERM.
 * Exit codes: 0 after a clean shutdown or `--help`, 2 on bad arguments or an invalid script file.
 *
 * @since 0.1.0
 */
import * as FakeLlmServer from "./FakeLlmServer.js"
import { parseArgs, usage } from "./internal/cli.js"

const command = parseArgs(process.argv.slice(2))

switch (command._tag) {
  case "Help":
    process.stdout.write(`${usage}\n`)
    break
  case "Error":
    process.stderr.write(`streamvisor-fake-server: ${command.message}\n`)
    process.exitCode = 2
    break
  case "Serve": {
    const server = await FakeLlmServer.start({
      port: command.port,
      host: command.host,
      validate: command.validate,
      ...(command.script === undefined ? {} : { script: command.script })
    }).catch((cause: unknown) => {
      process.stderr.write(`streamvisor-fake-server: cannot listen: ${String((cause as Error)?.message ?? cause)}\n`)
      process.exitCode = 2
      return undefined
    })
    if (server === undefined) break
    process.stdout.write(`listening on ${server.url} (${command.source})\n`)
    let stopping = false
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return
      stopping = true
      process.off("SIGINT", stop)
      process.off("SIGTERM", stop)
      server.close().then(
        () => {
          process.stdout.write(`closed on ${signal}; ${JSON.stringify(server.stats())}\n`)
          process.exitCode = 0
        },
        () => {
          process.exitCode = 1
        }
      )
    }
    process.on("SIGINT", stop)
    process.on("SIGTERM", stop)
    break
  }
}
