/**
 * Cluster timings for the multi-process suites, shared by runners and client.
 * The defaults (35 s shard lock expiry, a health check a minute) are for
 * production; a SIGKILLed runner's shards must move within a few seconds here.
 *
 * Shard locks are rows in the test's own schema (`shardLockDisableAdvisory`),
 * not PostgreSQL advisory locks: advisory lock numbers are per database, so
 * two suites on one database (two checkouts, CI and a developer) would take
 * each other's shards. A dead runner's rows expire after 5 s; a runner whose
 * heartbeat is late by that much on a loaded machine would lose its shards,
 * which 3 s (tried first) did not always leave room for.
 */
import type { ShardingConfig } from "@effect/cluster/ShardingConfig"

export const shardingConfig: Partial<ShardingConfig["Type"]> = {
  shardsPerGroup: 60,
  shardLockDisableAdvisory: true,
  shardLockRefreshInterval: "500 millis",
  shardLockExpiration: "5 seconds",
  refreshAssignmentsInterval: "300 millis",
  runnerHealthCheckInterval: "500 millis",
  entityTerminationTimeout: "10 seconds",
  sendRetryInterval: "100 millis",
  entityMessagePollInterval: "1 second"
}
