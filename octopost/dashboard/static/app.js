// Octopost dashboard: small progressive enhancements. Every page works without this file.
"use strict";

(function () {
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  // Times: the server writes UTC; show them in the browser's time zone (UTC stays in the title).
  function localTimes(root) {
    for (const el of $$("time[datetime]", root)) {
      if (el.dataset.local) continue;
      const when = new Date(el.getAttribute("datetime"));
      if (isNaN(when)) continue;
      el.title = el.textContent.trim();
      el.textContent = when.toLocaleString(undefined, {
        year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
      });
      el.dataset.local = "1";
    }
  }

  // A form is sent once: a second click while the page is leaving does nothing (the server
  // also replays a repeated idempotency key, for clicks that get through anyway).
  function oneSubmit() {
    document.addEventListener("submit", (event) => {
      const form = event.target;
      if (form.dataset.sending) { event.preventDefault(); return; }
      form.dataset.sending = "1";
      form.setAttribute("aria-busy", "true");
    });
    window.addEventListener("pageshow", () => {
      for (const form of $$("form[data-sending]")) { delete form.dataset.sending; form.removeAttribute("aria-busy"); }
    });
  }

  // Copy buttons for secrets shown once.
  function copyButtons() {
    for (const button of $$("[data-copy]")) {
      button.addEventListener("click", async () => {
        const field = $(button.dataset.copy);
        const status = $("#copy-status");
        field.select();
        let ok = false;
        try { await navigator.clipboard.writeText(field.value); ok = true; } catch (e) { ok = false; }
        if (status) status.textContent = ok ? "Copied to the clipboard." : "Selected: press Ctrl+C (⌘C) to copy.";
      });
    }
  }

  // Schedule: the picker is in the browser's time zone; store and show the UTC instant.
  function schedule() {
    const picker = $("#schedule_local");
    const hidden = $("#scheduled_for");
    const preview = $("#utc-preview");
    if (!picker || !hidden) return;
    const pad = (n) => String(n).padStart(2, "0");
    const localValue = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "your time zone";
    if (picker.dataset.utc) {
      const stored = new Date(picker.dataset.utc);
      if (!isNaN(stored)) picker.value = localValue(stored);
    }
    const update = () => {
      if (!picker.value) {
        hidden.value = "";
        preview.textContent = `Times are in your time zone (${zone}).`;
        return;
      }
      const when = new Date(picker.value); // a datetime-local value is read as local time
      if (isNaN(when)) { hidden.value = ""; return; }
      hidden.value = when.toISOString().replace(/\.000Z$/, "Z");
      preview.textContent = `${zone} time. Stored as ${hidden.value.slice(0, 16).replace("T", " ")} UTC.`;
    };
    picker.addEventListener("input", update);
    picker.addEventListener("change", update);
    update();
  }

  // Live per-platform counters: the same dry run as POST /v1/posts/validate, debounced.
  function counters() {
    const form = $("#compose");
    if (!form) return;
    const content = $("#content", form);
    const summary = $("#check-summary");
    let timer = null;
    let seq = 0;
    let controller = null;

    const checked = () => $$('input[name="platforms"]:checked', form).map((i) => i.value);
    const media = () => {
      const images = [];
      for (let i = 0; i < 4; i++) {
        const url = form.elements[`media.images[${i}].url`].value.trim();
        const alt = form.elements[`media.images[${i}].alt_text`].value;
        if (url) images.push({ url, alt_text: alt.trim() ? alt : null });
      }
      const video = form.elements["media.video.url"].value.trim();
      if (!images.length && !video) return null;
      return video ? { images, video: { url: video } } : { images };
    };

    function show(platform, check) {
      const row = $(`li.platform[data-platform="${platform}"]`, form);
      if (!row) return;
      const counter = $(".counter", row);
      const over = check.length > check.limit;
      counter.textContent = `${check.length} / ${check.limit}` + (over ? ` · ${check.length - check.limit} over` : "");
      row.classList.toggle("over", over);
      const list = $(".problems", row);
      list.replaceChildren(...(check.problems || []).map((text) => {
        const li = document.createElement("li");
        li.innerHTML = '<svg class="icon" aria-hidden="true" focusable="false"><use href="/static/icons.svg#alert"></use></svg>';
        const span = document.createElement("span");
        span.textContent = text;
        li.append(span);
        return li;
      }));
    }

    async function ask(body, mine) {
      const response = await fetch(form.dataset.checkUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": form.dataset.csrf },
        body: JSON.stringify(body),
        signal: controller.signal,
        credentials: "same-origin",
      });
      const answer = await response.json().catch(() => null);
      if (mine !== seq) return null;
      return { status: response.status, answer };
    }

    async function run() {
      const platforms = checked();
      for (const row of $$("li.platform", form)) {
        if (!platforms.includes(row.dataset.platform)) { $(".problems", row).replaceChildren(); row.classList.remove("over"); }
      }
      if (!platforms.length || !content.value.trim()) {
        for (const p of platforms) {
          const row = $(`li.platform[data-platform="${p}"]`, form);
          show(p, { length: 0, limit: Number($(".counter", row).dataset.limit), problems: [] });
        }
        summary.textContent = "";
        return;
      }
      const mine = ++seq;
      if (controller) controller.abort();
      controller = new AbortController();
      const body = { content: content.value, platforms, media: media() };
      try {
        let result = await ask(body, mine);
        if (result && result.status === 422 && body.media) {
          // a half-typed media URL must not stop the counters: measure the text alone
          result = await ask({ ...body, media: null }, mine);
        }
        if (!result || !result.answer || !result.answer.platforms) return;
        const over = [];
        for (const [platform, check] of Object.entries(result.answer.platforms)) {
          show(platform, check);
          if (check.length > check.limit) over.push(`${platform} (${check.length} / ${check.limit})`);
        }
        summary.textContent = over.length ? `Too long for ${over.join(", ")}.` : "Within every selected platform's limit.";
      } catch (error) {
        if (error.name !== "AbortError") summary.textContent = "";
      }
    }

    const soon = () => { clearTimeout(timer); timer = setTimeout(run, 350); };
    form.addEventListener("input", (event) => { if (event.target.name !== "schedule_local") soon(); });
    form.addEventListener("change", (event) => { if (event.target.name === "platforms") soon(); });
    if (content.value.trim()) soon();
  }

  // A post that is publishing refreshes itself until every platform has an outcome.
  function autoRefresh() {
    const main = $("main[data-refresh]");
    if (!main) return;
    const every = Number(main.dataset.refresh) || 1000;
    const tick = async () => {
      try {
        const response = await fetch(location.href, { credentials: "same-origin", headers: { Accept: "text/html" } });
        if (!response.ok) return setTimeout(tick, every * 2);
        const doc = new DOMParser().parseFromString(await response.text(), "text/html");
        const fresh = doc.querySelector("main");
        if (!fresh) return;
        main.innerHTML = fresh.innerHTML;
        localTimes(main);
        if (fresh.hasAttribute("data-refresh")) setTimeout(tick, every);
        else { main.removeAttribute("data-refresh"); document.title = doc.title; }
      } catch (error) {
        setTimeout(tick, every * 2);
      }
    };
    setTimeout(tick, every);
  }

  document.addEventListener("DOMContentLoaded", () => {
    localTimes(document);
    oneSubmit();
    copyButtons();
    schedule();
    counters();
    autoRefresh();
  });
})();
