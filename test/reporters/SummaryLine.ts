/**
 * Prints one plain closing line, `vitest: N passed, N failed, N skipped`, so
 * that CI logs can be read without knowing vitest's own summary format.
 */
import type { RunnerTask, RunnerTestFile } from "vitest"
import type { Reporter } from "vitest/reporters"

const count = (tasks: ReadonlyArray<RunnerTask>, totals: { passed: number; failed: number; skipped: number }) => {
  for (const task of tasks) {
    if (task.type === "suite") {
      count(task.tasks, totals)
      if (task.result?.state === "fail" && task.tasks.length === 0) totals.failed++
    } else {
      const state = task.result?.state
      if (state === "pass") totals.passed++
      else if (state === "fail") totals.failed++
      else totals.skipped++
    }
  }
}

export default class SummaryLine implements Reporter {
  onFinished(files: ReadonlyArray<RunnerTestFile> = [], errors: ReadonlyArray<unknown> = []) {
    const totals = { passed: 0, failed: 0, skipped: 0 }
    for (const file of files) {
      if (file.result?.state === "fail" && file.tasks.length === 0) totals.failed++
      count(file.tasks, totals)
    }
    totals.failed += errors.length
    process.stdout.write(`\nvitest: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`)
  }
}
