/**
 * Cluster timings for the multi-process suites, shared by runners and client.
 * The defaults (35 s shard lock expiry, a health check a minute) are for
 * production; a SIGKILLed runner's shards must move within a few seconds here.
 */
import type { ShardingConfig } from "@effect/cluster/ShardingConfig"

export const shardingConfig: Partial<ShardingConfig["Type"]> = {
  shardsPerGroup: 60,
  shardLockRefreshInterval: "500 millis",
  shardLockExpiration: "3 seconds",
  refreshAssignmentsInterval: "300 millis",
  runnerHealthCheckInterval: "500 millis",
  entityTerminationTimeout: "10 seconds",
  sendRetryInterval: "100 millis",
  entityMessagePollInterval: "1 second"
}
