import { Redaction } from "@streamvisor/core"

const scrub = Redaction.makeScrub(() => ["sk-0123456789"])
scrub("a Bearer sk-0123456789 b sk-0123456789") // "a <redacted> b <redacted>"
Redaction.makeScrub(() => ["sk-0123456789"], { keepBearer: true })("Bearer sk-0123456789") // "Bearer <redacted>"
export {}
