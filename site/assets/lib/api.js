// The API client: JSON calls and raw uploads with the session cookie and the CSRF double-submit token;
// errors come back as ApiError with a stable code and a message for people.

// In the cloud the cookie carries the __Host- prefix (Secure, host-only); locally it is plain.
export const CSRF_COOKIES = ["__Host-csrf", "csrf"];
export const csrfToken = () => CSRF_COOKIES.map(readCookie).find(Boolean) || null;

export function readCookie(name) {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return rest.join("=");
  }
  return null;
}

/** An error answer of the API: `code` is stable, `message` is for people. */
export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `The request failed (${status}).`);
    this.status = status;
    this.code = error.code || "unknown";
    this.field = error.field || null;
    this.challenge = error.challenge || null;
    this.methods = error.methods || [];
  }
}

/** Makes sure the browser holds a CSRF cookie (any API answer hands one out). */
export async function ensureCsrf() {
  if (!csrfToken()) {
    await fetch("/api/me", { credentials: "same-origin" });
  }
  return csrfToken() || "";
}

/** Sends a request with the session cookie, the CSRF token (for changes) and a JSON body if given. */
async function send(method, path, body, accept) {
  const headers = { Accept: accept };
  if (method !== "GET") headers["X-CSRF-Token"] = await ensureCsrf();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  return fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** Calls the API; resolves to the parsed JSON (or null), rejects with ApiError. */
export async function api(method, path, body) {
  const response = await send(method, path, body, "application/json");
  const text = await response.text();
  const parsed = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}

/**
 * The file gzip-compressed, or null where the browser cannot compress. Exports are text that shrinks
 * ten times or more, so a 90-day export stays far inside the cloud's request size limits (API Gateway
 * 10 MB, Lambda 6 MB with the body in base64).
 */
async function gzipped(file) {
  if (typeof CompressionStream !== "function") return null;
  try {
    return await new Response(file.stream().pipeThrough(new CompressionStream("gzip"))).blob();
  } catch {
    return null;
  }
}

/** Sends a file as the raw body (gzip-compressed when possible) with the CSRF header, reporting progress (fetch cannot). */
export function uploadFile(path, file, onProgress) {
  return new Promise((resolve, reject) => {
    Promise.all([ensureCsrf(), gzipped(file)]).then(([token, compressed]) => {
      const request = new XMLHttpRequest();
      request.open("POST", path);
      request.setRequestHeader("X-CSRF-Token", token);
      request.setRequestHeader("Content-Type", file.type || "application/octet-stream");
      if (compressed) request.setRequestHeader("Content-Encoding", "gzip");
      request.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) onProgress(Math.round((event.loaded / event.total) * 100));
      });
      request.addEventListener("load", () => {
        let body = null;
        try {
          body = request.responseText ? JSON.parse(request.responseText) : null;
        } catch {
          body = null;
        }
        if (request.status >= 200 && request.status < 300) resolve(body);
        else reject(new ApiError(request.status, body));
      });
      request.addEventListener("error", () => reject(new ApiError(0, null)));
      request.send(compressed || file);
    }, reject);
  });
}

/** Calls the API for a file (a PDF); resolves to its Blob, rejects with ApiError. */
export async function apiFile(method, path, body) {
  const response = await send(method, path, body, "application/pdf, application/json");
  if (!response.ok) {
    const text = await response.text();
    let parsed = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    throw new ApiError(response.status, parsed);
  }
  return response.blob();
}
