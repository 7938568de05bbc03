// Follows an upload until its feedback is ready, then opens it. Without JavaScript, "Check again" does the same.
const box = document.getElementById("follow");
if (box && box.dataset.statusUrl) {
  const said = document.getElementById("follow-status");
  const check = async () => {
    try {
      const response = await fetch(box.dataset.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (response.ok) {
        const state = await response.json();
        if (state.next) { window.location.assign(state.next); return; }
        if (said && state.words && said.textContent !== state.words) { said.textContent = state.words; }
      }
    } catch (error) { /* a network hiccup: try again at the next tick */ }
    window.setTimeout(check, 1500);
  };
  window.setTimeout(check, 1000);
}
