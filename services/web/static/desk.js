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

  // The documents checklist: the chosen procedure's list, swapped in from the server. While a
  // required paper is unticked (or something is written as missing) the first button, the one
  // Enter presses, is the request to complete (form 02) instead of the receipt.
  const procedure = document.getElementById("procedure");
  const primary = document.getElementById("receive-button");
  let shownFor = procedure ? procedure.value : "";

  const missingNow = () => {
    const lines = [];
    for (const box of form.querySelectorAll('input[name="doc"]')) {
      if (box.dataset.required === "true" && !box.checked) lines.push(box.dataset.label);
    }
    const other = document.getElementById("other_missing");
    if (other) {
      for (const line of other.value.split("\n")) if (line.trim()) lines.push(line.trim());
    }
    return lines;
  };

  const refresh = () => {
    const box = document.getElementById("missing-box");
    const lines = missingNow();
    primary.value = lines.length ? "incomplete" : "receive";
    primary.textContent = lines.length ? primary.dataset.incomplete : primary.dataset.receive;
    if (!box || !form.querySelector('input[name="doc"]')) return;
    box.replaceChildren();
    if (!lines.length) {
      const ok = document.createElement("p");
      ok.className = "ok";
      ok.textContent = box.dataset.none;
      box.append(ok);
      return;
    }
    const said = document.createElement("p");
    said.className = "alert";
    said.textContent = box.dataset.missing;
    const list = document.createElement("ul");
    list.id = "missing-list";
    for (const line of lines) {
      const item = document.createElement("li");
      item.textContent = line;
      list.append(item);
    }
    box.append(said, list);
  };

  const loadChecklist = async () => {
    if (procedure.value === shownFor) return;
    shownFor = procedure.value;
    const response = await fetch(`/desk/checklist?procedure=${encodeURIComponent(procedure.value)}`, {
      credentials: "same-origin",
    });
    if (!response.ok) return;
    const holder = document.createElement("div");
    holder.innerHTML = await response.text();
    const fresh = holder.querySelector("#checklist");
    const current = document.getElementById("checklist");
    if (fresh && current) current.replaceWith(fresh);
    refresh();
  };

  if (procedure && primary) {
    procedure.addEventListener("change", loadChecklist);
    form.addEventListener("change", (event) => {
      if (event.target !== procedure) refresh();
    });
    form.addEventListener("input", (event) => {
      if (event.target.id === "other_missing") refresh();
    });
    // Enter on a ticked box submits as it does in a text field (browsers differ on checkboxes).
    form.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && event.target.type === "checkbox") {
        event.preventDefault();
        form.requestSubmit(primary);
      }
    });
  }
});
