// Spend: daily spend by model (an SVG drawn here from /v1/spend), the month, top sessions.
// The real book and the simulator's book are drawn apart and never added together.
import { api, el, usd, usdTotal } from "./api.js";

const SVG = "http://www.w3.org/2000/svg";
const COLOURS = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function chart(book, label, room) {
  const models = [...new Set(book.days.flatMap((d) => d.models.map((m) => m.model ?? "unknown model")))];
  const colour = (model) => COLOURS[models.indexOf(model) % COLOURS.length];
  const totals = book.days.map((d) => d.models.reduce((sum, m) => sum + Number(m.cost ?? 0), 0));
  const top = Math.max(...totals, 0);
  // Drawn at the width it will have, so its text keeps its size on a phone too.
  const width = Math.max(300, Math.min(960, room)), height = 240, left = 72, bottom = 24;
  const inner = height - bottom - 10;
  const step = (width - left - 4) / book.days.length;
  const figure = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label });
  figure.append(svg("title", {}, label));
  figure.append(svg("line", { class: "axis", x1: left, y1: height - bottom, x2: width, y2: height - bottom }));
  figure.append(svg("text", { x: left - 6, y: 16, "text-anchor": "end" }, usd(top || 0)));
  figure.append(svg("text", { x: left - 6, y: height - bottom, "text-anchor": "end" }, "$0"));
  book.days.forEach((day, index) => {
    let y = height - bottom;
    const x = left + index * step + 1;
    for (const entry of day.models) {
      if (entry.cost === null || top === 0) continue;
      const h = (Number(entry.cost) / top) * inner;
      y -= h;
      const bar = svg("rect", { x, y, width: Math.max(1, step - 2), height: Math.max(h, 0.5), fill: colour(entry.model ?? "unknown model") });
      bar.append(svg("title", {}, `${day.day} · ${entry.model ?? "unknown model"}: ${usd(entry.cost)}${entry.unknown_cost_requests ? ` + ${entry.unknown_cost_requests} unknown` : ""}`));
      figure.append(bar);
    }
    const every = width < 600 ? 14 : 7;
    if (index % every === 0 && book.days.length - index > every / 2 || index === book.days.length - 1) {
      const last = index === book.days.length - 1;
      const anchor = { x: last ? x + step : x + step / 2, y: height - 6, "text-anchor": last ? "end" : "middle" };
      figure.append(svg("text", anchor, day.day.slice(5)));
    }
  });
  const priced = new Set(book.days.flatMap((d) => d.models.filter((m) => m.cost !== null).map((m) => m.model ?? "unknown model")));
  const legend = el("ul", { class: "legend", "aria-label": "Models" },
    ...models.map((m) => el("li", {}, el("span", { "data-colour": colour(m) }), priced.has(m) ? m : `${m} (cost unknown)`)));
  for (const swatch of legend.querySelectorAll("span[data-colour]")) swatch.style.background = swatch.dataset.colour;
  return el("div", { class: "chart" }, figure, legend, dayTable(book));
}

// The chart's numbers as a table, for screen readers and for reading exact figures.
function dayTable(book) {
  const rows = book.days.flatMap((day) => day.models.map((m) => el("tr", {},
    el("td", { text: day.day }), el("td", { text: m.model ?? "unknown model" }),
    el("td", { class: "num", text: String(m.requests) }), el("td", { class: "num", text: usdTotal(m) }))));
  if (!rows.length) return el("p", { class: "muted", text: "No requests in this period." });
  return el("details", { class: "figures-table" }, el("summary", { text: "Show as a table" }),
    el("table", {},
      el("thead", {}, el("tr", {}, el("th", { text: "Day" }), el("th", { text: "Model" }),
        el("th", { class: "num", text: "Requests" }), el("th", { class: "num", text: "Cost" }))),
      el("tbody", {}, ...rows)));
}

function sessionsTable(book) {
  if (!book.top_sessions.length) return el("p", { class: "muted", text: "No sessions in this period." });
  const rows = book.top_sessions.map((s) => el("tr", {},
    el("td", { text: s.name || s.session_id }),
    el("td", { class: "num", text: String(s.requests) }),
    el("td", { class: "num", text: usdTotal(s) })));
  return el("table", {},
    el("caption", { class: "sr-only", text: "Most expensive sessions" }),
    el("thead", {}, el("tr", {}, el("th", { text: "Session" }), el("th", { class: "num", text: "Requests" }), el("th", { class: "num", text: "Cost" }))),
    el("tbody", {}, ...rows));
}

function bookSection(report, book, simulated, room) {
  const name = simulated ? "Simulated spend" : "Real spend";
  const heading = el("h2", { text: name }, simulated ? el("span", { class: "badge", text: "not money" }) : null);
  const figures = el("div", { class: "figures" },
    el("div", {}, el("span", { class: "muted", text: "This month" }), el("strong", { text: usdTotal(book.month) })),
    el("div", {}, el("span", { class: "muted", text: `Last ${book.days.length} days` }), el("strong", { text: usdTotal(book.period) })));
  const budget = report.budget;
  if (budget && (report.server_book === "simulated") === simulated) {
    figures.append(el("div", {}, el("span", { class: "muted", text: "Today against the daily budget" }),
      el("strong", { text: `${usd(budget.spent)} of ${usd(budget.limit)}` })));
  } else if (!budget && (report.server_book === "simulated") === simulated) {
    figures.append(el("div", {}, el("span", { class: "muted", text: "Budget" }), el("strong", { text: "none set" })));
  }
  const note = simulated
    ? el("p", { class: "muted", text: "Requests the offline simulator answered. Its costs are made up and are never added to real spend." })
    : null;
  return el("section", { class: simulated ? "book simulated" : "book", "data-book": simulated ? "simulated" : "real", "aria-label": name },
    heading, note, figures,
    chart(book, `${name} per day by model, ${report.since} to ${report.until}`, room),
    el("h3", { text: "Most expensive sessions" }), sessionsTable(book));
}

async function refresh() {
  const body = document.getElementById("spend-body");
  let report;
  try {
    report = await api("/v1/spend?days=30");
  } catch (error) {
    body.replaceChildren(el("p", { class: "error", role: "alert", text: error.message }));
    return;
  }
  const sections = [];
  const realFirst = report.server_book === "real";
  const hasSim = report.simulated.period.requests > 0 || report.server_book === "simulated";
  const room = body.clientWidth - 34; // the book's padding and border
  const real = bookSection(report, report.real, false, room);
  const sim = hasSim ? bookSection(report, report.simulated, true, room) : null;
  if (realFirst) sections.push(real, sim);
  else sections.push(sim, real);
  body.replaceChildren(...sections.filter(Boolean));
}

export async function mount() {
  return { show: refresh };
}
