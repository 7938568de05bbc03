// Follows an upload until its feedback is ready, then opens it. Without JavaScript, "Check again" does the same.
// The status is announced in a live region (role="status"); the page itself is never reloaded.
// It looks after half a second, then every second for the first minute (a return is usually checked in a few
// seconds), then every 3 seconds.
const box = document.getElementById("follow");
if (box && box.dataset.statusUrl) {
  const said = document.getElementById("follow-status");
  const began = Date.now();
  const check = async () => {
    try {
      const response = await fetch(box.dataset.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (response.ok) {
        const state = await response.json();
        if (state.next) { window.location.assign(state.next); return; }
        if (said && state.words && said.textContent !== state.words) { said.textContent = state.words; }
      }
    } catch (error) { /* a network hiccup: try again at the next tick */ }
    window.setTimeout(check, Date.now() - began < 60000 ? 1000 : 3000);
  };
  window.setTimeout(check, 500);
}
