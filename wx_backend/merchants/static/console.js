// Console pages allow only this site's scripts (CSP script-src 'self'), so there are no inline scripts or
// handlers: what the pages do in the browser is here.

// A form with data-confirm asks before it is sent.
document.addEventListener("submit", function (event) {
  var question = event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// The rule form: only the selected channel's modes can be chosen (the server checks again).
document.addEventListener("DOMContentLoaded", function () {
  var channel = document.getElementById("channel"), mode = document.getElementById("liveness_mode");
  if (!channel || !mode) {
    return;
  }
  function syncModes() {
    for (const group of mode.querySelectorAll("optgroup")) {
      const on = group.dataset.channel === channel.value;
      group.hidden = !on; group.disabled = !on;
    }
    if (mode.selectedOptions[0]?.dataset.channel !== channel.value) {
      mode.value = mode.querySelector(`option[data-channel="${channel.value}"]`).value;
    }
  }
  channel.addEventListener("change", syncModes);
  syncModes();
});
