/**
 * Reading a request (body, JSON), redacting its credentials for the record, and answering with JSON.
 */
import type * as http from "node:http"
import { route } from "./wire/index.js"

const REDACTED = "<redacted>"
const SECRET_HEADERS = new Set(["authorization", "x-api-key", "x-goog-api-key", "api-key", "proxy-authorization"])

export const readBody = (req: http.IncomingMessage): Promise<string> =>
  new Promise((resolve) => {
    const chunks: Array<Buffer> = []
    let done = false
    const finish = () => {
      if (done) return
      done = true
      resolve(Buffer.concat(chunks).toString("utf8"))
    }
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", finish)
    req.on("error", finish)
    req.on("close", finish)
  })

export const parseBody = (raw: string): unknown => {
  if (raw.length === 0) return undefined
  try {
    return JSON.parse(raw)
  } catch {
    return raw
  }
}

export const redactHeaders = (headers: http.IncomingHttpHeaders): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(headers)) {
    if (value === undefined) continue
    out[key] = SECRET_HEADERS.has(key) ? REDACTED : Array.isArray(value) ? value.join(", ") : value
  }
  return out
}

export const redactQuery = (params: URLSearchParams): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [key, value] of params) out[key] = key === "key" || key === "api-key" ? REDACTED : value
  return out
}

export const sendJson = (res: http.ServerResponse, status: number, value: unknown, method: string, extra?: Record<string, string>) => {
  const body = JSON.stringify(value)
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    ...extra
  })
  if (method === "HEAD") res.end()
  else res.end(body)
}

/** Answers a request that no wire format takes: `GET /` 200, a known path with another method 405, else 404. */
export const respondUnknown = (method: string, pathname: string, res: http.ServerResponse): void => {
  const known = route(pathname).format !== "unknown"
  if ((method === "GET" || method === "HEAD") && pathname === "/") {
    return sendJson(res, 200, { name: "streamvisor-fake-server", status: "ok" }, method)
  }
  if (known) {
    return sendJson(
      res,
      405,
      { error: { message: `method ${method} not allowed on ${pathname}`, type: "method_not_allowed" } },
      method,
      { allow: "POST" }
    )
  }
  sendJson(res, 404, { error: { message: `no route for ${method} ${pathname}`, type: "not_found" } }, method)
}
