// The progress page of a background import: asks the server where the import stands (the page's
// data-status-url, JSON) every data-poll-every milliseconds and shows it without reloading the page,
// then goes on to the preview or the result when the worker is done. A static file, never an inline
// script, so that a strict Content-Security-Policy allows it.
document.addEventListener("DOMContentLoaded", () => {
  const root = document.querySelector("[data-status-url]");
  if (!root) {
    return;
  }
  const every = Number(root.dataset.pollEvery) || 1500;
  const text = (id, value) => {
    const element = document.getElementById(id);
    if (element) {
      element.textContent = value || "";
    }
  };
  const show = (state) => {
    const failed = state.status === "failed";
    document.getElementById("progress-box").hidden = failed;
    document.getElementById("progress-failed").hidden = !failed;
    if (failed) {
      text("progress-message", state.message);
      return;
    }
    text("progress-stage", state.stage);
    text("progress-rows", state.rows);
    text("progress-elapsed", state.elapsed);
    text("progress-remaining", state.remaining);
    text("progress-waiting", state.status === "queued" ? state.message : "");
    const bar = document.getElementById("progress-bar");
    if (state.fraction !== undefined) {
      bar.value = state.fraction;
    }
  };
  const poll = async () => {
    try {
      const response = await fetch(root.dataset.statusUrl, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        cache: "no-store",
      });
      if (response.ok) {
        const state = await response.json();
        if (state.next) {
          window.location.assign(state.next);
          return;
        }
        show(state);
        if (state.status === "failed") {
          return;
        }
      }
    } catch (error) {
      // A missed answer (the server restarting, the network): ask again at the next tick.
    }
    window.setTimeout(poll, every);
  };
  window.setTimeout(poll, every);
});
