import { Redaction } from "@streamvisor/core"
import OpenAI from "openai"

const scrub = Redaction.makeScrub(() => [apiKey])
const client = new OpenAI({ apiKey, logger: Redaction.scrubbingLogger(scrub) })
export {}
