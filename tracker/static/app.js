// Small progressive enhancements; every page works without them.
"use strict";

document.addEventListener("change", (event) => {
  const el = event.target;
  if (el instanceof HTMLSelectElement && el.hasAttribute("data-autosubmit") && el.form) {
    el.form.submit();
  }
});

// Live countdowns to deadlines: <span class="js-countdown" data-deadline="ISO" data-warn="30">
function span(minutes) {
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const mins = minutes % 60;
  if (days) return `${days}天${hours}小时`;
  if (hours) return `${hours}小时${mins}分`;
  return `${mins}分`;
}

function tick() {
  const now = Date.now();
  for (const el of document.querySelectorAll(".js-countdown[data-deadline]")) {
    const minutes = Math.floor((Date.parse(el.dataset.deadline) - now) / 60000);
    const warn = Number(el.dataset.warn || 30);
    const state = minutes < 0 ? "overdue" : minutes <= warn ? "near" : "ok";
    el.textContent = minutes < 0 ? `超时 ${span(-minutes)}` : `剩 ${span(minutes)}`;
    el.classList.remove("countdown-ok", "countdown-near", "countdown-overdue");
    el.classList.add(`countdown-${state}`);
  }
}
tick();
setInterval(tick, 30000);

// Copy buttons: <button data-copy-target="#id">
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy-target]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copyTarget);
  if (!source) return;
  const text = source.value !== undefined ? source.value : source.textContent;
  try {
    await navigator.clipboard.writeText(text.trim());
    button.textContent = "已复制";
  } catch {
    // no clipboard (a page served over plain http): select the text for Ctrl+C, in a
    // read-only box beside the button when the source is not a field
    let box = source.select ? source : button.nextElementSibling;
    if (!source.select && !(box && box.classList.contains("copy-fallback"))) {
      box = document.createElement("textarea");
      box.className = "form-control form-control-sm copy-fallback mt-1";
      box.readOnly = true;
      box.value = text.trim();
      button.after(box);
    }
    box.select();
    button.textContent = "请按 Ctrl+C 复制";
  }
});

// "Select all" for bulk assignment
document.addEventListener("change", (event) => {
  const box = event.target;
  if (!(box instanceof HTMLInputElement) || !box.hasAttribute("data-select-all")) return;
  for (const other of document.querySelectorAll(box.dataset.selectAll)) other.checked = box.checked;
});

// Sections a phone folds (<details data-open-wide>) stand open on a wider screen.
if (window.matchMedia("(min-width: 992px)").matches) {
  for (const el of document.querySelectorAll("details[data-open-wide]")) el.open = true;
}

// An open board (or home page) asks every minute what changed since it was drawn (cases/news) and, when
// cases were opened, says so with a link that refreshes it, and in the tab's title (a
// board in a background tab shows "(2) 案件"): an agent keeps the board open all morning,
// and a new case must not wait for a reload. It asks again at once when the tab is shown
// again, and stops for good on any answer that is not the JSON it expects (logged out).
const show = (el, visible) => el && el.classList.toggle("d-none", !visible);
const showUnread = (unread) => {
  for (const badge of document.querySelectorAll("[data-unread]")) {
    badge.textContent = unread < 100 ? String(unread) : "99+";
    show(badge, unread > 0);
    badge.closest("a").setAttribute("aria-label", `通知（${unread} 条未读）`);
  }
};
// Asks `url` every `seconds`, and at once when the tab is shown again, and hands the JSON
// to `use`; stops for good on any answer that is not the JSON it expects (logged out).
const poll = (url, seconds, use) => {
  let timer = null;
  const ask = async () => {
    let data;
    try {
      const response = await fetch(url, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      const json = (response.headers.get("Content-Type") || "").includes("application/json");
      if (!response.ok || !json) throw new Error(`${url}: ${response.status}`);
      data = await response.json();
    } catch {
      clearInterval(timer);
      return;
    }
    use(data);
  };
  timer = setInterval(ask, seconds * 1000);
  document.addEventListener("visibilitychange", () => document.hidden || ask());
};
const news = document.getElementById("board-news");
if (news) {
  const title = document.title;
  poll(news.dataset.newsUrl, Number(news.dataset.every || 60), (data) => {
    if (data.new_cases > 0) {
      document.getElementById("board-news-text").textContent =
        `打开${news.dataset.page || "看板"}后新开了 ${data.new_cases} 个案件`;
      show(news, true);
      document.title = `(${data.new_cases}) ${title}`;
    }
    const waiting = document.getElementById("waiting-count");
    if (waiting) {
      waiting.textContent = data.waiting.toLocaleString("en-US");
      show(document.getElementById("waiting-link"), data.waiting > 0);
    }
    showUnread(data.unread);
  });
} else {
  // Every other page keeps the bell's count current (on the board the news carries it).
  const bell = document.querySelector("[data-unread-url]");
  if (bell) poll(bell.dataset.unreadUrl, 60, (data) => showUnread(data.unread));
}

// Fields that matter for one choice only (<div data-shown-for="kind" data-shown-values="work">):
// hidden while another is chosen. Without script every field shows, and the server ignores
// what the choice does not use.
function syncShown(form) {
  for (const box of form.querySelectorAll("[data-shown-for]")) {
    const chosen = form.querySelector(`input[name="${box.dataset.shownFor}"]:checked`);
    box.hidden = Boolean(chosen) && !box.dataset.shownValues.split(" ").includes(chosen.value);
  }
}
for (const form of document.forms) {
  if (form.querySelector("[data-shown-for]")) syncShown(form);
}
document.addEventListener("change", (event) => {
  const form = event.target.form;
  if (form && form.querySelector("[data-shown-for]")) syncShown(form);
});
