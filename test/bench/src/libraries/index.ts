/** Every compared library, in report order. */
import { bytesFloor } from "./BytesFloor.js"
import { effectAi } from "./EffectAi.js"
import type { Library } from "./Library.js"
import { raw } from "./Raw.js"
import { streamvisor, streamvisorPromise } from "./Streamvisor.js"
import { vercel } from "./Vercel.js"

export * from "./Library.js"

export const libraries: ReadonlyArray<Library> = [raw, streamvisor, streamvisorPromise, vercel, effectAi]

export { bytesFloor }
