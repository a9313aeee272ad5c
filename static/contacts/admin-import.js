// Confirm stays disabled while the preview has invalid rows, unless "Skip invalid rows" is ticked.
// The server refuses such a commit anyway; this only saves a round trip.
document.addEventListener("DOMContentLoaded", () => {
  const button = document.getElementById("confirm-import");
  const skip = document.getElementById("id_skip_invalid");
  if (!button || !skip || button.dataset.invalid !== "true") {
    return;
  }
  const blocked = document.getElementById("confirm-blocked");
  const update = () => {
    button.disabled = !skip.checked;
    if (blocked) {
      blocked.hidden = skip.checked;
    }
  };
  skip.addEventListener("change", update);
  update();
});
