import { hedge } from "@streamvisor/core"

const fast = hedge([claude, gpt], { after: "800 millis" })
export {}
