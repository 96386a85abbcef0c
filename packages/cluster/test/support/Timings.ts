/**
 * Cluster timings for the multi-process suites, shared by runners and client.
 * The defaults (35 s shard lock expiry, a health check a minute) are for
 * production; a SIGKILLed runner's shards must move within a few seconds here.
 *
 * - Shard locks are rows in the test's own schema (`shardLockDisableAdvisory`),
 *   not PostgreSQL advisory locks: advisory lock numbers are per database, so
 *   two suites on one database (two checkouts, CI and a developer) would take
 *   each other's shards.
 * - Every lock refresh must finish within min(refresh interval, expiry / 3),
 *   or the runner declares its lock storage unhealthy and force-releases all
 *   its shards, cutting every turn on it. At 500 ms (tried first) that
 *   happened about one run in three on a loaded 2-core machine; 2 s leaves
 *   room. A dead runner's locks then expire 4–6 s after its death.
 */
import type { ShardingConfig } from "@effect/cluster/ShardingConfig"

export const shardingConfig: Partial<ShardingConfig["Type"]> = {
  shardsPerGroup: 60,
  shardLockDisableAdvisory: true,
  shardLockRefreshInterval: "2 seconds",
  shardLockExpiration: "6 seconds",
  refreshAssignmentsInterval: "300 millis",
  runnerHealthCheckInterval: "500 millis",
  entityTerminationTimeout: "10 seconds",
  sendRetryInterval: "100 millis",
  entityMessagePollInterval: "1 second"
}
