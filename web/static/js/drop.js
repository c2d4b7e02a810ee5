// Wire a session page's drop zone and file inputs to one callback.

import { clientError } from "./errors.js";
import { filesFromDrop, filesFromInput } from "./picker.js";

function carriesFiles(event) {
  return [...(event.dataTransfer?.types ?? [])].includes("Files");
}

/**
 * Call `onPicked(items)` with {file, name} items chosen in the inputs or
 * dropped anywhere on the window, and `onError(error)` when a dropped
 * folder cannot be read. The whole window takes drops, so a file dropped
 * beside the zone is uploaded instead of replacing the page.
 * Returns a function that removes the window listeners.
 */
export function wirePicking({ dropZone, fileInput, folderInput }, onPicked, onError) {
  for (const input of [fileInput, folderInput]) {
    input.addEventListener("change", () => {
      onPicked(filesFromInput(input));
      input.value = "";
    });
  }

  const highlight = (on) => dropZone.classList.toggle("is-dragover", on);
  const onDragOver = (event) => {
    if (!carriesFiles(event)) {
      return;
    }
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
    highlight(true);
  };
  const onDragLeave = (event) => {
    if (event.relatedTarget === null) {
      highlight(false);
    }
  };
  const onDrop = (event) => {
    if (!carriesFiles(event)) {
      return;
    }
    event.preventDefault();
    highlight(false);
    filesFromDrop(event.dataTransfer)
      .then(onPicked)
      .catch(() => onError(clientError("file_unreadable")));
  };

  window.addEventListener("dragover", onDragOver);
  window.addEventListener("dragleave", onDragLeave);
  window.addEventListener("drop", onDrop);
  return () => {
    window.removeEventListener("dragover", onDragOver);
    window.removeEventListener("dragleave", onDragLeave);
    window.removeEventListener("drop", onDrop);
  };
}
