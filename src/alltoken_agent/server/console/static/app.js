// The shell: theme, login, and which page shows. Each page is a module loaded on first use.
import { ApiError, api, forgetKey, keepKey, storedKey } from "./api.js";

const root = document.documentElement;
const PAGES = { chat: "/", media: "/media", spend: "/spend" };
const loaded = {};
const THEMES = ["system", "light", "dark"];

function applyTheme(theme) {
  if (theme === "system") delete root.dataset.theme;
  else root.dataset.theme = theme;
  const toggle = document.getElementById("theme-toggle");
  toggle.setAttribute("aria-label", `Colour theme: ${theme}`);
  toggle.title = `Theme: ${theme}`;
}

function setUpTheme() {
  let theme = localStorage.getItem("alltoken-agent.theme") || "system";
  if (!THEMES.includes(theme)) theme = "system";
  applyTheme(theme);
  document.getElementById("theme-toggle").addEventListener("click", () => {
    theme = THEMES[(THEMES.indexOf(theme) + 1) % THEMES.length];
    localStorage.setItem("alltoken-agent.theme", theme);
    applyTheme(theme);
  });
}

function pageFromPath(path) {
  return Object.keys(PAGES).find((page) => PAGES[page] === path) || "chat";
}

async function show(page) {
  // A page shows once its module is mounted, so nothing on it can be used before its
  // handlers are attached.
  if (!loaded[page]) loaded[page] = import(`./${page}.js`).then((module) => module.mount());
  const view = await loaded[page];
  for (const name of Object.keys(PAGES)) {
    document.getElementById(`page-${name}`).hidden = name !== page;
    const link = document.querySelector(`[data-nav="${name}"]`);
    if (name === page) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${page[0].toUpperCase()}${page.slice(1)} · alltoken-agent`;
  await view.show();
}

function setUpNav() {
  for (const link of document.querySelectorAll("[data-nav]")) {
    link.addEventListener("click", (event) => {
      if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
      event.preventDefault();
      const page = link.dataset.nav;
      history.pushState({ page }, "", PAGES[page]);
      show(page);
      document.getElementById("main").focus();
    });
  }
  addEventListener("popstate", () => show(pageFromPath(location.pathname)));
}

async function keyWorks() {
  try {
    await api("/v1/sessions?limit=1");
    return true;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return false;
    throw error;
  }
}

function askForKey() {
  const section = document.getElementById("login");
  const form = document.getElementById("login-form");
  const input = document.getElementById("login-key");
  const message = document.getElementById("login-error");
  for (const page of Object.keys(PAGES)) document.getElementById(`page-${page}`).hidden = true;
  section.hidden = false;
  input.focus();
  return new Promise((resolve) => {
    form.addEventListener("submit", async function submit(event) {
      event.preventDefault();
      message.textContent = "";
      keepKey(input.value.trim());
      try {
        if (await keyWorks()) {
          input.value = "";
          section.hidden = true;
          form.removeEventListener("submit", submit);
          resolve();
          return;
        }
        message.textContent = "That key is not one of this server's keys.";
      } catch (error) {
        message.textContent = error.message;
      }
      forgetKey();
      input.select();
    });
  });
}

async function start() {
  // No form ever leaves the page: each page's handlers send what it needs to the API.
  document.addEventListener("submit", (event) => event.preventDefault(), true);
  setUpTheme();
  setUpNav();
  if (root.dataset.auth === "bearer") {
    if (!storedKey() || !(await keyWorks())) {
      forgetKey();
      await askForKey();
    }
    const logout = document.getElementById("logout");
    logout.hidden = false;
    logout.addEventListener("click", () => {
      forgetKey();
      location.assign("/");
    });
  }
  await show(root.dataset.page || pageFromPath(location.pathname));
}

start().catch((error) => {
  const main = document.getElementById("main");
  main.append(Object.assign(document.createElement("p"), { className: "notice error", textContent: error.message }));
});
