import { fallback } from "@streamvisor/core"

const resilient = fallback([claude, gpt, gemini])
export {}
