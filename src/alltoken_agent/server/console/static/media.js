// Media: generate an image or a video, follow pending jobs, and the gallery of saved files.
import { announce, api, el, fileUrl, usd, when } from "./api.js";

const $ = (id) => document.getElementById(id);
const POLL_MS = 1000;
const following = new Map(); // job id -> timer
const objectUrls = [];
let costs = new Map();
let models = [];
let simulated = false; // the simulator's catalog: its prices are made up, and said to be

async function loadModels() {
  try {
    const list = await api("/v1/models");
    simulated = list.simulated;
    models = list.models.filter((m) => m.modality === "image" || m.modality === "video");
  } catch {
    models = [];
    simulated = false;
  }
  fillModels();
}

function fillModels() {
  const kind = $("media-kind").value;
  const picker = $("media-model");
  picker.replaceChildren(el("option", { value: "", text: "Server default" }));
  for (const model of models.filter((m) => m.modality === kind)) {
    const price = kind === "image" ? model.price?.per_image : model.price?.per_video_second;
    const unit = kind === "image" ? "image" : "second";
    const label = price ? `${usd(price)} per ${unit}${simulated ? " (simulated)" : ""}` : "price unknown";
    picker.append(el("option", { value: model.id, text: `${model.id} · ${label}` }));
  }
}

function promptOf(job) {
  return typeof job.params?.prompt === "string" ? job.params.prompt : "";
}

const UNFINISHED = new Set(["queued", "submitting", "pending"]);

function pendingItem(job) {
  // A queued job (waiting for a worker) was never sent: any kind can be taken off the queue.
  const paid = job.kind === "image" && job.status !== "queued";
  const status = el("span", { class: "status", text: job.status });
  const progress = el("progress", { "aria-label": `Progress of ${job.kind} job` });
  const resume = el("button", { type: "button", class: "ghost small", text: "Resume", onclick: () => resumeJob(job.id) });
  const cancel = el("button", {
    type: "button", class: "ghost small", text: "Cancel", disabled: paid,
    title: paid ? "A submitted image is paid for and cannot be cancelled" : null,
    onclick: () => cancelJob(job.id),
  });
  const item = el("li", {}, el("strong", { text: job.kind }), el("span", { class: "prompt", text: promptOf(job) }),
    el("span", { class: "muted", text: job.model }), progress, status, resume, cancel);
  item.dataset.job = job.id;
  return item;
}

async function refresh() {
  const [jobs, costList] = await Promise.all([api("/v1/jobs?limit=100"), api("/v1/media/costs").catch(() => ({ jobs: [] }))]);
  costs = new Map(costList.jobs.map((c) => [c.job_id, c]));
  const pending = jobs.jobs.filter((j) => UNFINISHED.has(j.status));
  $("pending").replaceChildren(...pending.map(pendingItem));
  if (!pending.length) $("pending").append(el("li", { class: "muted", text: "Nothing pending." }));
  for (const job of pending) follow(job.id);
  await renderGallery(jobs.jobs.filter((j) => j.status === "completed" || j.status === "failed"));
}

async function renderGallery(jobs) {
  while (objectUrls.length) URL.revokeObjectURL(objectUrls.pop());
  const gallery = $("gallery");
  gallery.replaceChildren();
  for (const job of jobs) {
    const cost = costs.get(job.id);
    const costText = cost ? `${usd(cost.cost)}${cost.simulated ? " (simulated)" : ""}` : "unknown";
    const caption = el("div", { class: "caption" },
      el("span", { class: "prompt", text: promptOf(job) }),
      el("span", { class: "muted", text: `${job.model} · cost ${costText}` }),
      el("time", { class: "muted", datetime: job.created_at, text: when(job.created_at) }));
    if (job.status === "failed") {
      caption.append(el("span", { class: "error", text: `Failed: ${job.error?.message || job.error?.code || "unknown error"}` }));
      gallery.append(el("li", {}, caption));
      continue;
    }
    for (const file of job.files) {
      if (!file.url) continue;
      const isVideo = file.mime_type.startsWith("video/");
      const media = isVideo
        ? el("video", { controls: true, preload: "metadata", "aria-label": `Video: ${promptOf(job)}` })
        : el("img", { alt: promptOf(job), loading: "lazy", width: 320, height: 320 });
      gallery.append(el("li", { "data-job": job.id }, media, caption.cloneNode(true)));
      // A video streams from a short-lived link (ranges, no key in the URL); an image is
      // small enough to fetch whole with the key.
      const source = isVideo
        ? api(`${file.url}/link`, { method: "POST" }).then((link) => link.url)
        : fileUrl(file.url).then((url) => (objectUrls.push(url), url));
      source.then((url) => {
        media.src = url;
      }).catch((error) => media.replaceWith(el("p", { class: "error", text: error.message })));
    }
  }
  if (!gallery.children.length) gallery.append(el("li", { class: "muted caption", text: "No saved results yet." }));
}

function follow(id) {
  if (following.has(id)) return;
  const tick = async () => {
    let job;
    try {
      job = await api(`/v1/jobs/${encodeURIComponent(id)}`);
    } catch (error) {
      following.delete(id);
      announce(error.message);
      return;
    }
    const item = document.querySelector(`#pending [data-job="${CSS.escape(id)}"]`);
    if (item) item.querySelector(".status").textContent = job.status;
    if (UNFINISHED.has(job.status)) {
      following.set(id, setTimeout(tick, POLL_MS));
      return;
    }
    following.delete(id);
    announce(`${job.kind} job ${job.status}`);
    await refresh();
  };
  following.set(id, setTimeout(tick, POLL_MS));
}

async function resumeJob(id) {
  try {
    await api(`/v1/jobs/${encodeURIComponent(id)}/resume`, { method: "POST" });
    announce("Resumed.");
  } catch (error) {
    alert(error.message);
  }
  await refresh();
}

async function cancelJob(id) {
  if (!confirm("Cancel this job?")) return;
  try {
    await api(`/v1/jobs/${encodeURIComponent(id)}/cancel`, { method: "POST" });
    announce("Cancelled.");
  } catch (error) {
    alert(error.message);
  }
  await refresh();
}

export async function mount() {
  await loadModels();
  $("media-kind").addEventListener("change", fillModels);
  $("media-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const kind = $("media-kind").value;
    const body = { prompt: $("media-prompt").value.trim() };
    if (!body.prompt) return;
    if ($("media-model").value) body.model = $("media-model").value;
    const button = $("media-submit");
    button.disabled = true;
    try {
      const job = await api(kind === "image" ? "/v1/images" : "/v1/videos", { method: "POST", body });
      $("media-prompt").value = "";
      announce(`${kind} job started`);
      $("pending").querySelector(".muted")?.remove();
      $("pending").prepend(pendingItem(job));
      follow(job.id);
    } catch (error) {
      alert(error.message);
    } finally {
      button.disabled = false;
    }
  });
  return { show: refresh };
}
