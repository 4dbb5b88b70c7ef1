// The console's only door to the server: the documented /v1 API, with the key as a header.
// The key lives in this tab's sessionStorage: never in a URL, a cookie or the page.
const KEY_SLOT = "alltoken-agent.server-key";

export function storedKey() {
  return sessionStorage.getItem(KEY_SLOT);
}

export function keepKey(key) {
  sessionStorage.setItem(KEY_SLOT, key);
}

export function forgetKey() {
  sessionStorage.removeItem(KEY_SLOT);
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function headers(extra) {
  const out = { ...extra };
  const key = storedKey();
  if (key) out.Authorization = `Bearer ${key}`;
  return out;
}

async function failure(response) {
  let error = null;
  try {
    error = (await response.json()).error;
  } catch {
    // not the API's envelope (a proxy's page): say the status
  }
  const message = typeof error?.message === "string" ? error.message : `HTTP ${response.status}`;
  return new ApiError(response.status, String(error?.code || `http_${response.status}`), message);
}

/** Call the API; resolves to the JSON body (null for 204), rejects with ApiError. */
export async function api(path, { method = "GET", body, signal } = {}) {
  const init = { method, signal, credentials: "omit", cache: "no-store", redirect: "error" };
  init.headers = headers(body === undefined ? {} : { "Content-Type": "application/json" });
  if (body !== undefined) init.body = JSON.stringify(body);
  const response = await fetch(path, init);
  if (!response.ok) throw await failure(response);
  return response.status === 204 ? null : response.json();
}

/** POST and read the answer as server-sent events: yields {name, data} objects. */
export async function* stream(path, body, signal) {
  const response = await fetch(path, {
    method: "POST",
    headers: headers({ "Content-Type": "application/json", Accept: "text/event-stream" }),
    body: JSON.stringify(body),
    signal,
    credentials: "omit",
    cache: "no-store",
    redirect: "error",
  });
  if (!response.ok) throw await failure(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (!data.length) continue; // a keep-alive comment
      let parsed;
      try {
        parsed = JSON.parse(data.join("\n"));
      } catch {
        continue;
      }
      yield { name, data: parsed };
    }
  }
}

/** A file the API serves behind the key, as an object URL (img/video cannot send headers). */
export async function fileUrl(path, signal) {
  const response = await fetch(path, { headers: headers({}), signal, credentials: "omit", redirect: "error" });
  if (!response.ok) throw await failure(response);
  return URL.createObjectURL(await response.blob());
}

/** USD for people: "unknown" for null (never $0), small amounts with their digits. */
export function usd(value) {
  if (value === null || value === undefined) return "unknown";
  const amount = Number(value);
  if (!Number.isFinite(amount)) return "unknown";
  if (amount === 0) return "$0";
  if (Math.abs(amount) >= 0.01) return `$${amount.toFixed(2)}`;
  return `$${amount.toPrecision(2).replace(/\.?0+$/, "")}`;
}

/** A total with its unknown part said: "$0.12 + 3 unknown", "unknown", "$0". */
export function usdTotal(total) {
  if (!total || total.requests === 0) return "$0";
  const known = usd(total.cost);
  if (total.cost === null) return "unknown";
  return total.unknown_cost_requests ? `${known} + ${total.unknown_cost_requests} unknown` : known;
}

export function when(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? "" : date.toLocaleString();
}

/** Build an element: el("li", {class: "x", text: "y"}, child, ...). Text only, never HTML. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") node.textContent = value;
    else if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child !== null && child !== undefined && child !== false) node.append(child);
  }
  return node;
}

export function announce(text) {
  const status = document.getElementById("status");
  if (status) status.textContent = text;
}
