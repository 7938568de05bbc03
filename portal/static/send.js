// The Send button disables itself once the form is sent, so a second press cannot send the return twice.
for (const form of document.querySelectorAll("form[data-send-once]")) {
  form.addEventListener("submit", () => {
    for (const button of form.querySelectorAll("button[type=submit], input[type=submit]")) {
      button.disabled = true;
      button.setAttribute("aria-disabled", "true");
      button.textContent = "Sending…";
    }
  });
}
