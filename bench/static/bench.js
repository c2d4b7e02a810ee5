// The browser side of bench/upload_browser.py. It fetches the test spec, makes
// the file as a Blob, times one upload and posts the result to /bench/result.

const MIB = 1024 * 1024;
const RANDOM_LIMIT_BYTES = 65536; // the maximum of one crypto.getRandomValues call

function log(line) {
  document.getElementById("log").textContent += `${line}\n`;
}

/** Return a File of `size` bytes: random blocks, each stamped with its index. */
function makeFile(size) {
  const block = new Uint8Array(MIB);
  for (let start = 0; start < MIB; start += RANDOM_LIMIT_BYTES) {
    crypto.getRandomValues(block.subarray(start, start + RANDOM_LIMIT_BYTES));
  }
  const view = new DataView(block.buffer);
  const parts = [];
  for (let start = 0, index = 0; start < size; start += MIB, index += 1) {
    view.setUint32(0, index);
    parts.push(new Blob([block.slice(0, Math.min(MIB, size - start))]));
  }
  return new File(parts, "bench.bin", { type: "application/octet-stream" });
}

async function sha256Hex(file) {
  const digest = await crypto.subtle.digest("SHA-256", await file.arrayBuffer());
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

const GO_POLL_MS = 10;
const GO_TIMEOUT_MS = 60000;

/** Tell the bench script the timing starts, and wait until it has its readings. */
async function markStart() {
  await fetch("/bench/mark", { method: "POST" });
  const deadline = performance.now() + GO_TIMEOUT_MS;
  while (performance.now() < deadline) {
    const answer = await (await fetch("/bench/go")).json();
    if (answer.go) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, GO_POLL_MS));
  }
  throw new Error(`no go from the bench script within ${GO_TIMEOUT_MS} ms`);
}

async function timed(work) {
  await markStart();
  const started = performance.now();
  const details = await work();
  const seconds = (performance.now() - started) / 1000;
  await fetch("/bench/stop", { method: "POST" });
  return { seconds, details };
}

async function putSink(body, offset, route = "sink") {
  const response = await fetch(`/bench/${route}?offset=${offset}`, {
    method: "PUT",
    headers: { "Content-Type": "application/octet-stream" },
    body,
  });
  const answer = await response.json();
  if (!answer.ok) {
    throw new Error(`sink returned ${JSON.stringify(answer)}`);
  }
  return answer.offset;
}

/** Send the whole Blob as one fetch() PUT body: the ceiling. */
async function fetchWhole(spec, file) {
  return timed(async () => ({ received: await putSink(file, 0, spec.route) }));
}

/** Send ArrayBuffer slices one at a time, as the client's chunk loop does. */
async function fetchChunks(spec, file) {
  return timed(async () => {
    let offset = 0;
    while (offset < file.size) {
      const end = Math.min(file.size, offset + spec.chunk_bytes);
      offset = await putSink(await file.slice(offset, end).arrayBuffer(), offset);
    }
    return { chunk_bytes: spec.chunk_bytes, received: offset };
  });
}

/** Send Blob slices one at a time, so no chunk is read into an ArrayBuffer first. */
async function fetchBlobChunks(spec, file) {
  return timed(async () => {
    let offset = 0;
    while (offset < file.size) {
      const end = Math.min(file.size, offset + spec.chunk_bytes);
      offset = await putSink(file.slice(offset, end), offset);
    }
    return { chunk_bytes: spec.chunk_bytes, received: offset };
  });
}

/** Start a guest account, a fresh session and a joined socket, as the app does. */
async function openSession() {
  const api = await import("/static/js/api.js");
  const { Connection } = await import("/static/js/socket.js");
  const { SESSION_JOIN } = await import("/static/js/events.js");
  await api.startGuest();
  const { session } = await api.createSession({ title: "bench", lifetime_s: 3600 });
  const connection = new Connection();
  const connected = new Promise((resolve, reject) => {
    connection.socket.once("connect", resolve);
    connection.socket.once("connect_error", reject);
  });
  connection.connect();
  await connected;
  const joinToken = new URL(session.join_url).pathname.split("/").pop();
  const joined = await connection.request(SESSION_JOIN, { join_token: joinToken });
  const close = async () => {
    await api.deleteSession(session.id);
    connection.socket.disconnect();
  };
  return { session, connection, limits: joined.limits, close };
}

/** Upload through the real client: UploadManager from /static/js/upload.js. */
async function clientHttp(spec, file) {
  const { UploadManager } = await import("/static/js/upload.js");
  const { session, connection, limits, close } = await openSession();
  let finished;
  const done = new Promise((resolve, reject) => {
    finished = { resolve, reject };
  });
  const manager = new UploadManager({
    connection,
    sessionId: session.id,
    limits,
    hooks: {
      onDeclared: () => {},
      onChange: () => {},
      onComplete: (transfer, stored) => finished.resolve(stored),
      onFailed: (name, error) => finished.reject(error),
    },
  });
  const result = await timed(async () => {
    await manager.add([{ file, name: file.name }]);
    const stored = await done;
    return { chunk_bytes: manager.chunkBytes, stored };
  });
  await close();
  return result;
}

/** Send Socket.IO binary chunks in offset order, `socket_window` awaiting acks. */
async function clientSocket(spec, file) {
  const { UPLOAD_CHUNK, UPLOAD_FINISH, UPLOAD_START } = await import("/static/js/events.js");
  const { session, connection, limits, close } = await openSession();
  const chunkBytes = limits.socket_chunk_bytes;
  const result = await timed(async () => {
    const started = await connection.request(UPLOAD_START, {
      session_id: session.id,
      files: [{ name: file.name, size: file.size }],
    });
    const fileId = started.files[0].id;
    const pending = new Set();
    for (let offset = 0; offset < file.size; offset += chunkBytes) {
      while (pending.size >= spec.socket_window) {
        await Promise.race(pending);
      }
      const data = await file.slice(offset, offset + chunkBytes).arrayBuffer();
      const ack = connection.request(UPLOAD_CHUNK, { file_id: fileId, offset, data }, 120000);
      const tracked = ack.then(() => pending.delete(tracked));
      pending.add(tracked);
    }
    await Promise.all(pending);
    const finished = await connection.request(UPLOAD_FINISH, { file_id: fileId });
    return { chunk_bytes: chunkBytes, window: spec.socket_window, stored: finished.file };
  });
  await close();
  return result;
}

const TESTS = {
  "fetch-whole": fetchWhole,
  "fetch-chunks": fetchChunks,
  "fetch-blob-chunks": fetchBlobChunks,
  "client-http": clientHttp,
  "client-socket": clientSocket,
};

async function run(spec) {
  const file = makeFile(spec.size_bytes);
  log(`test ${spec.test}: ${file.size} bytes`);
  const { seconds, details } = await TESTS[spec.test](spec, file);
  log(`done in ${seconds.toFixed(2)} s`);
  const result = { ok: true, test: spec.test, size_bytes: file.size, seconds, details };
  if (details?.stored) {
    result.local_sha256 = await sha256Hex(file);
  }
  return result;
}

async function main() {
  const spec = await (await fetch("/bench/test")).json();
  let result;
  try {
    result = await run(spec);
  } catch (error) {
    result = { ok: false, test: spec.test, code: error.code ?? null, error: String(error) };
  }
  await fetch("/bench/result", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(result),
  });
}

main();
