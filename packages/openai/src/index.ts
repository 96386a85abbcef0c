/**
 * @since 0.1.0
 */
export * as OpenAI from "./OpenAI.js"
