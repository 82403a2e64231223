// Console pages allow only this site's scripts (CSP script-src 'self'), so no inline handlers:
// a form with data-confirm asks before it is sent.
document.addEventListener("submit", function (event) {
  var question = event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
