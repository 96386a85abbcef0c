/**
 * `@streamvisor/google/genai`: the Gemini adapter over the maintained
 * `@google/genai` SDK. A subpath of its own so that `@streamvisor/google`
 * users on `@google/generative-ai` need not install `@google/genai` (an
 * optional peer dependency).
 *
 * @since 0.2.0
 */
export * as GoogleGenAI from "./GoogleGenAI.js"
