/**
 * `@streamvisor/supervisor`: chat sessions as actors, run in scopes, restarted
 * by policy, shut down clean.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as Supervisor from "./Supervisor.js"

/**
 * @since 0.1.0
 */
export * as Session from "./Session.js"

/**
 * @since 0.1.0
 */
export * as SessionError from "./SessionError.js"

/**
 * @since 0.1.0
 */
export * as SupervisorError from "./SupervisorError.js"

/**
 * @since 0.1.0
 */
export { CommitFailed, InvalidMessage, SessionCrashed, SessionStopped } from "./SessionError.js"

/**
 * @since 0.1.0
 */
export {
  InvalidOptions,
  NameInUse,
  RestartIntensityExceeded,
  ResumeMismatch,
  SessionIdInUse,
  SupervisorClosed
} from "./SupervisorError.js"

/**
 * @since 0.1.0
 */
export * as SessionStore from "./SessionStore.js"

/**
 * @since 0.1.0
 */
export * as Sessions from "./Sessions.js"
