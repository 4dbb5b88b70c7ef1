// Chat: the conversation list, the streaming transcript, the model picker, stop, costs.
import { ApiError, announce, api, el, stream, usd, usdTotal, when } from "./api.js";
import { renderMarkdown } from "./markdown.js";

const $ = (id) => document.getElementById(id);
const state = { sessions: [], current: null, models: [], defaultModel: null, simulated: false, running: null };

function title(session) {
  return session.name || `Untitled · ${when(session.created_at)}`;
}

function priceLabel(model) {
  const price = model.price;
  if (!price || (price.input_per_1m === null && price.output_per_1m === null)) return "price unknown";
  // The simulator's catalog makes its prices up: never shown as if they were a gateway's.
  const madeUp = state.simulated ? " (simulated)" : "";
  return `${usd(price.input_per_1m)} in / ${usd(price.output_per_1m)} out per 1M${madeUp}`;
}

async function loadModels() {
  const picker = $("model-picker");
  try {
    const list = await api("/v1/models");
    state.defaultModel = list.default_model;
    state.simulated = list.simulated;
    state.models = list.models.filter((m) => m.modality === "text" || m.modality === "vision" || m.modality === null);
  } catch (error) {
    state.models = [];
    announce(`Models unavailable: ${error.message}`);
  }
  picker.replaceChildren();
  const ids = new Set(state.models.map((m) => m.id));
  if (state.defaultModel && !ids.has(state.defaultModel)) {
    picker.append(el("option", { value: state.defaultModel, text: `${state.defaultModel} · price unknown` }));
  }
  for (const model of state.models) {
    picker.append(el("option", { value: model.id, text: `${model.id} · ${priceLabel(model)}` }));
  }
  picker.value = state.defaultModel || picker.value;
}

function ensureModelOption(id) {
  const picker = $("model-picker");
  if (id && ![...picker.options].some((o) => o.value === id)) {
    picker.append(el("option", { value: id, text: `${id} · price unknown` }));
  }
  if (id) picker.value = id;
}

async function loadSessions() {
  state.sessions = (await api("/v1/sessions?limit=100")).sessions;
  renderList();
}

function renderList() {
  const query = $("convo-search").value.trim().toLowerCase();
  const list = $("convo-list");
  list.replaceChildren();
  const shown = state.sessions.filter((s) =>
    !query || [s.name, s.id, s.model].some((v) => v && v.toLowerCase().includes(query)),
  );
  for (const session of shown) {
    const open = el(
      "button",
      { type: "button", class: "open", title: title(session), onclick: () => openSession(session.id) },
      title(session),
      el("small", { text: `${session.model || ""} · ${session.message_count} messages` }),
    );
    const rename = el("button", {
      type: "button", class: "ghost small", text: "Rename",
      "aria-label": `Rename ${title(session)}`, onclick: () => startRename(item, session),
    });
    const remove = el("button", {
      type: "button", class: "ghost small", text: "Delete",
      "aria-label": `Delete ${title(session)}`, onclick: () => removeSession(session),
    });
    const item = el("li", { "aria-current": session.id === state.current?.id ? "true" : null }, open, rename, remove);
    item.dataset.session = session.id;
    list.append(item);
  }
  if (!shown.length) list.append(el("li", { class: "muted", text: query ? "No match." : "No conversations yet." }));
}

function startRename(item, session) {
  const input = el("input", { type: "text", value: session.name || "", "aria-label": "New name", maxlength: 255 });
  const finish = async (save) => {
    if (save && input.value.trim()) {
      try {
        await api(`/v1/sessions/${encodeURIComponent(session.id)}`, { method: "PATCH", body: { name: input.value.trim() } });
        announce("Renamed.");
      } catch (error) {
        announce(error.message);
        alert(error.message);
      }
    }
    await loadSessions();
  };
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") finish(true);
    else if (event.key === "Escape") finish(false);
  });
  input.addEventListener("blur", () => finish(true), { once: true });
  item.replaceChildren(input);
  input.focus();
  input.select();
}

async function removeSession(session) {
  if (!confirm(`Delete "${title(session)}" and its messages?`)) return;
  try {
    await api(`/v1/sessions/${encodeURIComponent(session.id)}`, { method: "DELETE" });
  } catch (error) {
    alert(error.message);
    return;
  }
  if (state.current?.id === session.id) newChat();
  await loadSessions();
  announce("Deleted.");
}

// Reasoning is chosen when a conversation starts (the API has no switch for it later).
function lockThinking(locked) {
  const box = $("thinking");
  box.disabled = locked;
  box.title = locked ? "Set when a conversation starts; start a new chat to change it" : "";
}

function newChat() {
  state.current = null;
  lockThinking(false);
  $("transcript").replaceChildren(el("p", { class: "muted", text: "Ask anything. Try: What time is it in Tokyo?" }));
  $("session-total").textContent = "Session: —";
  $("model-picker").value = state.defaultModel || $("model-picker").value;
  renderList();
  $("prompt").focus();
}

async function openSession(id) {
  const session = await api(`/v1/sessions/${encodeURIComponent(id)}`);
  state.current = session;
  ensureModelOption(session.model);
  $("thinking").checked = session.thinking;
  lockThinking(true);
  const transcript = $("transcript");
  transcript.replaceChildren();
  const cards = new Map();
  const turnEnds = new Map(); // user message index -> the turn's last assistant block
  let userIndex = null;
  session.messages.forEach((message, index) => {
    if (message.role === "user") {
      userIndex = index;
      transcript.append(userBubble(contentText(message.content)));
    } else if (message.role === "assistant") {
      const turn = assistantBlock();
      if (userIndex !== null) turnEnds.set(userIndex, turn);
      if (message.reasoning_content) turn.reasoning(message.reasoning_content);
      for (const call of message.tool_calls || []) {
        cards.set(call.id, turn.toolCall(call.function?.name, call.function?.arguments));
      }
      turn.setText(contentText(message.content));
      transcript.append(turn.node);
    } else if (message.role === "tool") {
      cards.get(message.tool_call_id)?.result(contentText(message.content), false);
    }
  });
  transcript.scrollTop = transcript.scrollHeight;
  renderList();
  const cost = await showSessionTotal();
  for (const entry of cost?.turns || []) {
    turnEnds.get(entry.message_index)?.meta(`Turn cost: ${turnCost(entry)}`, false, "turn-cost");
  }
}

/** One turn's cost: "unknown" when no request's cost is known, simulated labelled. */
function turnCost(entry) {
  const known = entry.cost === null ? "unknown" : usd(entry.cost);
  const partial = entry.cost !== null && entry.unknown_cost_requests ? ` + ${entry.unknown_cost_requests} unknown` : "";
  return `${known}${partial}${entry.simulated ? " (simulated)" : ""}`;
}

function contentText(content) {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.filter((p) => p && p.type === "text").map((p) => p.text).join("\n");
  return "";
}

// Resolves to the session's cost (with per-turn entries), or null when it cannot be read.
async function showSessionTotal() {
  if (!state.current) return null;
  try {
    const cost = await api(`/v1/sessions/${encodeURIComponent(state.current.id)}/cost`);
    const parts = [];
    if (cost.real.requests > 0 || cost.simulated.requests === 0) parts.push(usdTotal(cost.real));
    if (cost.simulated.requests > 0) parts.push(`${usdTotal(cost.simulated)} (simulated)`);
    $("session-total").textContent = `Session: ${parts.join(" · ")}`;
    return cost;
  } catch (error) {
    $("session-total").textContent = "Session: unknown";
    return null;
  }
}

function userBubble(text) {
  return el("div", { class: "msg user", text });
}

function assistantBlock() {
  const node = el("article", { class: "msg assistant", "aria-label": "Assistant" });
  const body = el("div", { class: "md" });
  let reasoningPre = null;
  let text = "";
  let frame = 0;
  node.append(body);
  const draw = () => {
    frame = 0;
    body.replaceChildren(renderMarkdown(text));
  };
  return {
    node,
    reasoning(delta) {
      if (!reasoningPre) {
        reasoningPre = el("pre");
        node.insertBefore(el("details", { class: "reasoning" }, el("summary", { text: "Reasoning" }), reasoningPre), body);
      }
      reasoningPre.textContent += delta;
    },
    toolCall(name, args) {
      const argsText = typeof args === "string" ? args : JSON.stringify(args, null, 1);
      const result = el("pre", { class: "result", text: "running…" });
      const card = el("section", { class: "tool", "aria-label": `Tool call ${name}` },
        el("header", { text: `Tool call: ${name}` }), el("pre", { class: "args", text: argsText }), result);
      node.insertBefore(card, body);
      return {
        result(value, isError) {
          result.textContent = typeof value === "string" ? value : JSON.stringify(value);
          if (isError) card.classList.add("failed");
        },
      };
    },
    append(delta) {
      text += delta;
      if (!frame) frame = requestAnimationFrame(draw);
    },
    setText(value) {
      text = value;
      draw();
    },
    meta(line, isError = false, extra = "") {
      node.append(el("div", { class: `${isError ? "meta error" : "meta"} ${extra}`.trim(), text: line }));
    },
  };
}

// A new conversation is named after its first message; a name in use gets the id's tail.
async function nameAfter(id, name) {
  for (const candidate of [name, `${name} · ${id.slice(-4)}`]) {
    try {
      await api(`/v1/sessions/${encodeURIComponent(id)}`, { method: "PATCH", body: { name: candidate } });
      return;
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 409)) throw error;
    }
  }
}

async function send(content) {
  const transcript = $("transcript");
  if (!state.current) {
    transcript.replaceChildren();
    const created = await api("/v1/sessions", {
      method: "POST",
      body: { model: $("model-picker").value || undefined, thinking: $("thinking").checked },
    });
    state.current = created;
    lockThinking(true);
    await nameAfter(created.id, content.replace(/\s+/g, " ").trim().slice(0, 60));
  }
  transcript.append(userBubble(content));
  const turn = assistantBlock();
  transcript.append(turn.node);
  const calls = new Map();
  let done = null;
  const controller = new AbortController();
  state.running = controller;
  $("send").hidden = true;
  $("stop").hidden = false;
  const follow = () => (transcript.scrollTop = transcript.scrollHeight);
  try {
    for await (const { name, data } of stream(
      `/v1/sessions/${encodeURIComponent(state.current.id)}/messages`, { content }, controller.signal,
    )) {
      if (name === "reasoning:delta") turn.reasoning(data.delta);
      else if (name === "stream:delta") turn.append(data.delta);
      else if (name === "tool:call") calls.set(data.call_id, turn.toolCall(data.tool_name, data.arguments));
      else if (name === "tool:result") calls.get(data.call_id)?.result(data.result, data.is_error);
      else if (name === "done") {
        turn.setText(data.text);
        done = data;
      } else if (name === "error") {
        turn.meta(`Error: ${data.message || data.code || "the run failed"}`, true);
      }
      follow();
    }
  } catch (error) {
    if (error.name === "AbortError") turn.meta("Stopped. Finished steps are saved; the cost of this turn is unknown.");
    else turn.meta(`Error: ${error.message}`, true);
  } finally {
    state.running = null;
    $("send").hidden = false;
    $("stop").hidden = true;
    follow();
  }
  const [, cost] = await Promise.all([loadSessions(), showSessionTotal()]);
  if (done) {
    // The book is the server's to say: a turn the simulator answered costs no money.
    const simulated = cost?.turns?.at(-1)?.simulated ?? (cost ? cost.real.requests === 0 && cost.simulated.requests > 0 : false);
    const tokens = done.usage ? `${done.usage.prompt_tokens} in / ${done.usage.completion_tokens} out tokens` : "tokens unknown";
    turn.meta(`${done.model} · ${tokens}`);
    turn.meta(`Turn cost: ${usd(done.request_cost)}${simulated ? " (simulated)" : ""}`, false, "turn-cost");
  }
}

export async function mount() {
  await loadModels();
  $("convo-search").addEventListener("input", renderList);
  $("new-chat").addEventListener("click", newChat);
  $("stop").addEventListener("click", () => state.running?.abort());
  $("model-picker").addEventListener("change", async () => {
    if (!state.current) return;
    const model = $("model-picker").value;
    try {
      state.current = await api(`/v1/sessions/${encodeURIComponent(state.current.id)}`, { method: "PATCH", body: { model } });
      announce(`Model: ${model}`);
      await loadSessions();
    } catch (error) {
      alert(error.message);
    }
  });
  const prompt = $("prompt");
  prompt.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("composer").requestSubmit();
    }
  });
  $("composer").addEventListener("submit", async (event) => {
    event.preventDefault();
    const content = prompt.value.trim();
    if (!content || state.running) return;
    prompt.value = "";
    try {
      await send(content);
    } catch (error) {
      $("transcript").append(el("p", { class: "msg error", role: "alert", text: error.message }));
    }
  });
  newChat();
  return { show: loadSessions };
}
