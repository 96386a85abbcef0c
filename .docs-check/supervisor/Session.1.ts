import { Session } from "@streamvisor/supervisor"
import { Stream, pipe } from "effect"

declare const ref: Session.SessionRef
const answer = pipe(ref, Session.send("Hello"), Stream.runCollect)
export {}
