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
    if (source.select) source.select();
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
