// What the admin pages' forms share: errors shown beside the field they concern, and a
// modal yes-or-no dialog.

import { h } from "./dom.js";

/** Remove the errors shown in ``form``. */
export function clearErrors(form) {
  for (const old of form.querySelectorAll(".field-error")) old.remove();
  for (const input of form.querySelectorAll("[aria-invalid]")) {
    input.removeAttribute("aria-invalid");
    input.removeAttribute("aria-describedby");
  }
}

/** Show ``message`` beside ``input`` (described by it, for screen readers) and focus it. */
export function fieldError(input, message) {
  const id = `${input.id || input.name}-error`;
  const error = h("p", { class: "notice error field-error", id, role: "alert" }, message);
  input.setAttribute("aria-invalid", "true");
  input.setAttribute("aria-describedby", id);
  (input.closest(".field, fieldset") || input.parentElement).append(error);
  input.focus();
}

/** A modal <dialog> asking yes or no (keyboard: Escape is no). */
export function confirmDialog() {
  const title = h("h2", { id: "confirm-title" });
  const text = h("p", { id: "confirm-text" });
  const yes = h("button", { type: "button", class: "danger", id: "confirm-yes", "data-action": "confirm" });
  const no = h("button", { type: "button", class: "secondary", id: "confirm-no", "data-action": "cancel" }, "Cancel");
  const element = h("dialog", {
    id: "confirm-dialog", "aria-labelledby": "confirm-title", "aria-describedby": "confirm-text",
  }, title, text, h("div", { class: "row" }, yes, no));
  let answer = false;
  yes.addEventListener("click", () => { answer = true; element.close(); });
  no.addEventListener("click", () => { answer = false; element.close(); });
  return {
    element,
    ask(question, detail, action) {
      title.textContent = question;
      text.textContent = detail;
      yes.textContent = action;
      answer = false;
      return new Promise((resolve) => {
        element.addEventListener("close", () => resolve(answer), { once: true });
        element.showModal();
        no.focus();
      });
    },
  };
}
