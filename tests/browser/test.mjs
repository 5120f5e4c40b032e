// Drives the dashboard in headless Chromium: every page, the abort and retry buttons, a search
// by ID, a bulk abort with its confirmation, a schedule's page, a flex-queue move and a
// schedule pause, checking each effect; screenshots at desktop and phone sizes.
// Usage: node test.mjs BASE_URL TOKEN SCREENSHOT_DIR
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const [baseArg, token, shots] = process.argv.slice(2);
if (!baseArg || !token || !shots) {
  console.error("usage: node test.mjs BASE_URL TOKEN SCREENSHOT_DIR");
  process.exit(2);
}
const base = baseArg.replace(/\/$/, "");
const failures = [];

async function api(method, path, body) {
  const response = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return JSON.parse(text);
}

async function check(name, fn) {
  try {
    await fn();
    console.log(`ok   ${name}`);
  } catch (error) {
    failures.push(name);
    console.log(`FAIL ${name}\n     ${String(error?.stack ?? error).split("\n").slice(0, 6).join("\n     ")}`);
  }
}

// The demo leaves finished work, a waiting schedule and two holding batches (`held`); add
// what the actions need. The server runs no jobs, so these stay where they are.
const held = (await api("GET", "/api/flex-queue")).holding.map((j) => j.id);
const batches = [];
for (let i = 0; i < 3; i++) {
  const created = await api("POST", "/api/batches", {
    class_name: "RevenueRollup",
    payload: { orders: 0, total_cents: 0 },
    scope: 200,
  });
  batches.push(created.id);
}
// A job in a named queue, with a tenant (beyond Apex), for the Queues page.
await api("POST", "/api/jobs", {
  class_name: "UpdateAccounts",
  payload: { accounts: ["Globex"], per_job: 1 },
  queue: "callouts",
  priority: 2,
  tenant: "org-00D5",
});
const xss = "<script>window.__xss=1</script>";
const victim = (
  await api("POST", "/api/jobs", {
    class_name: "UpdateAccounts",
    payload: { accounts: [xss, "Acme"], per_job: 2 },
    delay_seconds: 3600,
  })
).id;
const nightly = await api("POST", "/api/schedules", {
  name: "Nightly cleanup",
  cron_expression: "0 0 2 ? * MON-FRI",
  class_name: "QueueReport",
});
await api("POST", "/api/schedules", {
  name: "Month-end close",
  cron_expression: "0 0 22 ? * 6L",
  class_name: "QueueReport",
  time_zone: "America/New_York",
});
const demoBatch = (await api("GET", "/api/jobs?job_type=BatchApex&status=Completed")).jobs[0].id;

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });

async function newPage(viewport) {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.on("dialog", (dialog) => dialog.accept());
  page.on("pageerror", (error) => failures.push(`script error: ${error.message}`));
  page.on("console", (message) => {
    // The sign-in form answers a wrong token with 401, which the browser logs.
    if (message.type() === "error" && !page.url().endsWith("/login")) failures.push(`console error on ${page.url()}: ${message.text()}`);
  });
  return page;
}

async function signIn(page, next) {
  await page.goto(`${base}/login?next=${encodeURIComponent(next)}`);
  await page.fill("#token", token);
  await page.click("main form button[type=submit]");
  await page.waitForURL(`${base}${next}`);
  await page.getByRole("button", { name: "Sign out" }).waitFor();
}

const shot = (page, name) => page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
const rowOf = (page, id) => page.locator(`tr[data-job-id="${id}"]`);

const desktop = await newPage({ width: 1280, height: 800 });

await check("overview shows counts and the throughput chart", async () => {
  await desktop.goto(`${base}/`);
  await desktop.getByRole("heading", { name: "Overview" }).waitFor();
  assert.ok(await desktop.locator("svg#throughput rect.completed").count() > 0, "completed bars");
  const completed = await desktop.locator('a.tile[data-status="Completed"] .count').textContent();
  assert.ok(Number(completed) >= 10, `completed tile: ${completed}`);
  await shot(desktop, "overview-desktop");
});

await check("a wrong token is refused and the right one signs in", async () => {
  await desktop.goto(`${base}/login`);
  await desktop.fill("#token", "not-the-token");
  await desktop.click("main form button[type=submit]");
  await desktop.getByRole("alert").waitFor();
  await signIn(desktop, "/jobs");
});

await check("Apex Jobs lists jobs newest first with Apex's columns", async () => {
  await desktop.goto(`${base}/jobs`);
  const headers = await desktop.locator("#jobs thead th").allTextContents();
  for (const column of ["Submitted Date", "Job Type", "Status", "Status Detail", "Total Batches", "Batches Processed", "Failures", "Apex Class", "Apex Method", "Completion Date", "Apex Job ID"]) {
    assert.ok(headers.includes(column), `column ${column}`);
  }
  const ids = await desktop.locator("#jobs tbody tr").evaluateAll((rows) => rows.map((r) => r.dataset.jobId));
  assert.equal(ids[0], victim, "the newest job comes first");
  await shot(desktop, "jobs-desktop");
});

await check("filters narrow the Apex Jobs list", async () => {
  await desktop.goto(`${base}/jobs`);
  await desktop.selectOption('select[name="job_type"]', "BatchApex");
  await desktop.selectOption('select[name="status"]', "Holding");
  await desktop.click("form.filters button[type=submit]");
  await desktop.waitForURL(/job_type=BatchApex/);
  const ids = await desktop.locator("#jobs tbody tr").evaluateAll((rows) => rows.map((r) => r.dataset.jobId));
  assert.deepEqual([...ids].sort(), [...held, ...batches].sort());
});

await check("a payload with <script> is shown as text, never run", async () => {
  await desktop.goto(`${base}/jobs/${victim}`);
  await desktop.locator("pre.payload").getByText(xss).waitFor();
  assert.equal(await desktop.evaluate(() => window.__xss), undefined);
});

await check("the Abort button aborts a queued job", async () => {
  await desktop.goto(`${base}/jobs`);
  await rowOf(desktop, victim).getByRole("button", { name: "Abort" }).click();
  await rowOf(desktop, victim).locator(".badge", { hasText: "Aborted" }).waitFor();
  assert.equal((await api("GET", `/api/jobs/${victim}`)).job.status, "Aborted");
  assert.equal(await rowOf(desktop, victim).getByRole("button", { name: "Abort" }).count(), 0);
});

await check("a search by ID (18 characters, any case) opens the job", async () => {
  await desktop.goto(`${base}/jobs`);
  await desktop.fill('input[name="q"]', demoBatch.toLowerCase());
  await desktop.press('input[name="q"]', "Enter");
  await desktop.waitForURL(`${base}/jobs/${demoBatch}`);
  await desktop.getByRole("heading", { name: /RevenueRollup/ }).waitFor();
});

await check("the Retry button retries an aborted job and links both ways", async () => {
  await desktop.goto(`${base}/jobs?status=Aborted`);
  await rowOf(desktop, victim).getByRole("button", { name: "Retry" }).click();
  await desktop.waitForURL(/\/jobs\/707/);
  const retry = desktop.url().split("/").at(-1);
  assert.notEqual(retry, victim);
  await desktop.locator("#retry-of").getByRole("link", { name: victim }).waitFor();
  await shot(desktop, "retry-detail-desktop");
  const original = await api("GET", `/api/jobs/${victim}`);
  assert.equal(original.retries[0].id, retry);
  assert.equal((await api("GET", `/api/jobs/${retry}`)).job.retry_of, victim);
  await desktop.goto(`${base}/jobs/${victim}`);
  await desktop.locator("#retried-as").getByRole("link", { name: retry }).waitFor();
  // Leave the retry waiting far off, so later checks see a quiet queue.
  await api("POST", `/api/jobs/${retry}/abort`);
});

await check("the batch detail shows progress, chain and failures", async () => {
  await desktop.goto(`${base}/jobs/${demoBatch}`);
  assert.equal(await desktop.locator(".progress progress").getAttribute("value"), "100.0");
  await desktop.getByRole("heading", { name: "Failed batches" }).waitFor();
  await desktop.getByRole("heading", { name: "Error events" }).waitFor();
  await desktop.getByText("5000 of 5000 batches processed").waitFor();
  await shot(desktop, "batch-detail-desktop");
});

await check("a chained job links to its parent and children", async () => {
  const chain = (await api("GET", "/api/jobs?class=UpdateAccounts&status=Completed")).jobs;
  const child = chain.find((j) => j.parent_job_id);
  await desktop.goto(`${base}/jobs/${child.id}`);
  await desktop.getByRole("link", { name: child.parent_job_id }).first().click();
  await desktop.waitForURL(`${base}/jobs/${child.parent_job_id}`);
  await desktop.locator(`#children a[href$="${child.id}"]`).waitFor();
});

await check("Scheduled Jobs explains expressions and Pause pauses", async () => {
  await desktop.goto(`${base}/schedules`);
  const row = desktop.locator('tr[data-name="Nightly cleanup"]');
  await row.getByText("0 0 2 ? * MON-FRI").waitFor();
  assert.match(await row.locator(".explain").textContent(), /02:00/);
  await row.locator(".badge", { hasText: "WAITING" }).waitFor();
  await shot(desktop, "schedules-before-pause-desktop");
  await row.getByRole("button", { name: "Pause" }).click();
  await desktop.locator('tr[data-name="Nightly cleanup"] .badge', { hasText: "PAUSED" }).waitFor();
  assert.equal((await api("GET", `/api/schedules/${nightly.id}`)).state, "PAUSED");
  await desktop.locator('tr[data-name="Nightly cleanup"]').getByRole("button", { name: "Resume" }).waitFor();
  await shot(desktop, "schedules-desktop");
});

await check("the flex queue lists holding batches in order and moves them", async () => {
  await desktop.goto(`${base}/flex-queue`);
  const order = () => desktop.locator("#holding tbody tr").evaluateAll((rows) => rows.map((r) => r.dataset.jobId));
  assert.deepEqual(await order(), [...held, ...batches]);
  const [a, b, c] = batches;
  await rowOf(desktop, c).getByRole("button", { name: "Move to the front" }).click();
  await desktop.waitForFunction((id) => document.querySelector("#holding tbody tr")?.dataset.jobId === id, c);
  assert.deepEqual(await order(), [c, ...held, a, b]);
  assert.deepEqual((await api("GET", "/api/flex-queue")).holding.map((j) => j.id), [c, ...held, a, b]);
  // The before/after form: put c after b.
  const form = rowOf(desktop, c).locator("form.move-to");
  await form.locator('select[name="to"]').selectOption("after");
  await form.locator('select[name="other"]').selectOption(b);
  await form.getByRole("button", { name: "Move" }).click();
  await desktop.waitForFunction((id) => [...document.querySelectorAll("#holding tbody tr")].at(-1)?.dataset.jobId === id, c);
  assert.deepEqual(await order(), [...held, a, b, c]);
  await shot(desktop, "flex-queue-desktop");
});

await check("the queues page lists a named queue and its tenant, and pauses and resumes it", async () => {
  await desktop.goto(`${base}/queues`);
  const row = desktop.locator('tr[data-queue="callouts"]');
  await row.waitFor();
  assert.equal((await row.locator("td.queued").innerText()).trim(), "1");
  await desktop.locator("#tenants", { hasText: "org-00D5" }).waitFor();
  await row.getByRole("button", { name: "Pause" }).click();
  await desktop.locator('tr[data-queue="callouts"] .badge', { hasText: "Paused" }).waitFor();
  const listed = (await api("GET", "/api/queues")).queues.find((q) => q.name === "callouts");
  assert.equal(listed.paused, true);
  await shot(desktop, "queues-desktop");
  await desktop.locator('tr[data-queue="callouts"]').getByRole("button", { name: "Resume" }).click();
  await desktop.locator('tr[data-queue="callouts"] .badge', { hasText: "Active" }).waitFor();
  assert.equal((await api("GET", "/api/queues")).queues.find((q) => q.name === "callouts").paused, false);
});

await check("a schedule's page shows its next ten runs with DST marked, and pauses", async () => {
  await desktop.goto(`${base}/schedules`);
  await desktop.locator('tr[data-name="Month-end close"] td.name a').click();
  await desktop.waitForURL(/\/schedules\/08e/);
  await desktop.getByRole("heading", { name: /Month-end close/ }).waitFor();
  assert.equal(await desktop.locator("#upcoming tbody tr").count(), 10);
  // Ten months in New York always cross a daylight-saving change.
  assert.ok(await desktop.locator("#upcoming .dst").count() > 0, "DST runs are marked");
  assert.ok(await desktop.getByText("clocks changed").count() > 0, "the change is marked");
  await desktop.getByText("America/New_York").first().waitFor();
  await shot(desktop, "schedule-detail-desktop");
  await desktop.getByRole("button", { name: "Pause" }).click();
  await desktop.locator("h1 .badge", { hasText: "PAUSED" }).waitFor();
  await desktop.getByRole("button", { name: "Resume" }).click();
  await desktop.locator("h1 .badge", { hasText: "WAITING" }).waitFor();
});

await check("a bulk abort of selected jobs asks with a count, then aborts them", async () => {
  const [a, b] = batches;
  await desktop.goto(`${base}/jobs?status=Holding`);
  await rowOf(desktop, a).locator('input[type="checkbox"]').check();
  await rowOf(desktop, b).locator('input[type="checkbox"]').check();
  await desktop.selectOption('form.bulk select[name="action"]', "abort");
  await desktop.getByRole("button", { name: "Selected jobs…" }).click();
  await desktop.locator("#bulk-confirm").waitFor();
  assert.equal((await desktop.locator("#bulk-applicable").textContent()).trim(), "2");
  await shot(desktop, "bulk-confirm-desktop");
  for (const id of [a, b]) assert.equal((await api("GET", `/api/jobs/${id}`)).job.status, "Holding", "nothing yet");
  await desktop.getByRole("button", { name: "Abort 2 jobs" }).click();
  await desktop.locator("#bulk-done").waitFor();
  assert.equal((await desktop.locator("#bulk-count").textContent()).trim(), "2");
  for (const id of [a, b]) assert.equal((await api("GET", `/api/jobs/${id}`)).job.status, "Aborted");
  assert.equal((await api("GET", `/api/jobs/${batches[2]}`)).job.status, "Holding", "the unticked one stays");
});

const phone = await newPage({ width: 390, height: 844 });
await check("every page fits a phone screen; the lists are cards with ID, class, status and action", async () => {
  await signIn(phone, "/flex-queue");
  const schedule = (await api("GET", "/api/schedules")).find((s) => s.name === "Month-end close").id;
  for (const [name, path] of [
    ["overview", "/"],
    ["jobs", "/jobs"],
    ["batch-detail", `/jobs/${demoBatch}`],
    ["schedules", "/schedules"],
    ["schedule-detail", `/schedules/${schedule}`],
    ["flex-queue", "/flex-queue"],
    ["queues", "/queues"],
  ]) {
    await phone.goto(base + path);
    const width = await phone.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `${path} is ${width}px wide`);
    await shot(phone, `${name}-phone`);
  }
  // No sideways scrolling inside the lists either, and what matters is on screen.
  for (const [path, table, cells] of [
    ["/jobs", "#jobs", ["td.id", "td.class", "td.status", "td.action"]],
    ["/schedules", "#schedules", ["td.id", "td.class", "td.status", "td.action"]],
    ["/flex-queue", "#holding", ["td.id", "td.class", "td.action"]],
    ["/queues", "#queues", ["td.name", "td.status", "td.action"]],
  ]) {
    await phone.goto(base + path);
    const wraps = await phone.locator(`${table}`).evaluate((t) => {
      const wrap = t.closest(".table-wrap");
      return [wrap.scrollWidth, wrap.clientWidth];
    });
    assert.ok(wraps[0] <= wraps[1], `${path}: the list scrolls sideways (${wraps})`);
    const row = phone.locator(`${table} tbody tr`).first();
    for (const cell of cells) {
      const box = await row.locator(cell).boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= 390, `${path}: ${cell} is off screen (${JSON.stringify(box)})`);
    }
  }
});

await browser.close();
if (failures.length > 0) {
  console.log(`\n${failures.length} failed:\n  ${failures.join("\n  ")}`);
  process.exit(1);
}
console.log("\nall browser checks passed");
