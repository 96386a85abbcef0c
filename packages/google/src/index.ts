/**
 * @since 0.1.0
 */
export * as Google from "./Google.js"
