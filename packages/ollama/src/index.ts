/**
 * @since 0.1.0
 */
export * as Ollama from "./Ollama.js"
