// Turn dropped items and file inputs into {file, name} pairs, where a file
// from a folder is named by its path relative to the picked folder.

function readEntryBatch(reader) {
  return new Promise((resolve, reject) => reader.readEntries(resolve, reject));
}

function fileOfEntry(entry) {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

async function walkEntry(entry, found) {
  if (entry.isFile) {
    const file = await fileOfEntry(entry);
    found.push({ file, name: entry.fullPath.replace(/^\/+/, "") });
    return;
  }
  if (!entry.isDirectory) {
    return;
  }
  // readEntries returns a folder's entries in batches until an empty one.
  const reader = entry.createReader();
  for (;;) {
    const batch = await readEntryBatch(reader);
    if (batch.length === 0) {
      return;
    }
    for (const child of batch) {
      await walkEntry(child, found);
    }
  }
}

/**
 * Collect the files of a drop, folders included where the browser offers
 * `webkitGetAsEntry`. Must be called while the drop event is dispatched:
 * the items are emptied once the handler returns.
 */
export function filesFromDrop(dataTransfer) {
  const items = [...(dataTransfer.items ?? [])].filter((item) => item.kind === "file");
  const entries = items.map((item) => item.webkitGetAsEntry?.() ?? null);
  if (entries.length === 0 || entries.some((entry) => entry === null)) {
    const files = [...dataTransfer.files].map((file) => ({ file, name: file.name }));
    return Promise.resolve(files);
  }
  return (async () => {
    const found = [];
    for (const entry of entries) {
      await walkEntry(entry, found);
    }
    return found;
  })();
}

/** Collect the files chosen in a file or folder input. */
export function filesFromInput(input) {
  return [...input.files].map((file) => ({
    file,
    name: file.webkitRelativePath || file.name,
  }));
}
