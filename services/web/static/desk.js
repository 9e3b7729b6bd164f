// The desk's form: a scanner types the CCCD QR line into #cccd_line and presses Enter. The
// server parses it (one parser, services/web/cccd.py) and this fills the applicant's fields, then
// moves on to the first field the card does not carry. Without JavaScript the same line is
// parsed when the form is submitted.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("receive");
  const line = document.getElementById("cccd_line");
  const status = document.getElementById("cccd-status");
  if (!form || !line || !status) return;

  line.addEventListener("keydown", async (event) => {
    if (event.key !== "Enter" || line.value.trim() === "") return;
    event.preventDefault();
    const body = new FormData();
    body.append("line", line.value);
    body.append("csrf", form.dataset.csrf);
    let answer;
    try {
      const response = await fetch("/desk/cccd", {
        method: "POST",
        body,
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      answer = { ok: response.ok, data: await response.json() };
    } catch (err) {
      status.textContent = String(err);
      status.className = "status bad";
      return;
    }
    if (!answer.ok) {
      const message = answer.data.error.message;
      status.textContent = `${message.vi} (${message.en})`;
      status.className = "status bad";
      return;
    }
    for (const [name, value] of Object.entries(answer.data)) {
      const field = document.getElementById(name);
      if (field) field.value = value;
    }
    status.textContent = status.dataset.filled;
    status.className = "status good";
    document.getElementById("phone").focus();
  });
});
