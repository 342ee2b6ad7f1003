// A queue worker that protects its task while it works: the Node version of
// ../worker.py, written the way AWS's sample queue consumer is. Before each
// receive it protects its task for PROTECT_MINUTES through the ECS agent
// ($ECS_AGENT_URI/task-protection/v1/state, with Node's own fetch); while a job
// runs it renews protection and the message's visibility at 80 % of that time;
// after each job, or when the queue is empty, it releases protection. On
// SIGTERM it takes no new work, finishes the job in hand and exits.
//
// Runs unchanged on ECS and under `ecssim serve`, which also sets QUEUE_URL,
// AWS_ENDPOINT_URL and ECSSIM_SPEED (a job's `duration_s` is simulated time,
// so it takes duration_s / ECSSIM_SPEED seconds here).
//
//   npm install   (once, in this folder: the AWS SDK's SQS client)

import {
  SQSClient,
  ReceiveMessageCommand,
  DeleteMessageCommand,
  ChangeMessageVisibilityCommand,
} from "@aws-sdk/client-sqs";

const AGENT_URI = process.env.ECS_AGENT_URI;
const QUEUE_URL = process.env.QUEUE_URL;
const SPEED = Number(process.env.ECSSIM_SPEED ?? "1");
const PROTECT_MINUTES = Number(process.env.PROTECT_MINUTES ?? "30");
const RENEW_AFTER_MS = (0.8 * PROTECT_MINUTES * 60 * 1000) / SPEED;

let stopping = false;
const log = (...parts) =>
  console.log(new Date().toISOString().slice(11, 19), ...parts);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
// wait up to ms, but return early once SIGTERM arrived
async function idle(ms) {
  const end = Date.now() + ms;
  while (!stopping && Date.now() < end) await sleep(Math.min(100, end - Date.now()));
}

process.on("SIGTERM", () => {
  stopping = true;
  log("SIGTERM: finishing the job in hand, taking no new work");
});

// PUT the task's protection; true only if ECS set it. The agent answers 200
// with a `failure` body when ECS refused (DEPLOYMENT_BLOCKED, TASK_NOT_VALID):
// checking response.ok alone misses it.
async function setProtection(enabled) {
  const body = { ProtectionEnabled: enabled };
  if (enabled) body.ExpiresInMinutes = PROTECT_MINUTES;
  try {
    const response = await fetch(`${AGENT_URI}/task-protection/v1/state`, {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const answer = await response.json();
    if (!response.ok) {
      log("protection call failed:", response.status, JSON.stringify(answer));
      return false;
    }
    if (answer.failure) {
      log("protection refused:", answer.failure.Reason);
      return false;
    }
    return true;
  } catch (err) {
    log("agent unreachable:", err.message);
    return false;
  }
}

async function main() {
  const sqs = new SQSClient({});
  log("worker started, queue", QUEUE_URL);
  while (!stopping) {
    if (!(await setProtection(true))) {
      await idle(Math.min(5000, 60_000 / SPEED)); // not protected: take no work now
      continue;
    }
    let renewAt = Date.now() + RENEW_AFTER_MS;
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: QUEUE_URL,
        MaxNumberOfMessages: 1,
        WaitTimeSeconds: 20,
        VisibilityTimeout: PROTECT_MINUTES * 60,
      }),
    );
    if (Messages.length === 0) {
      await setProtection(false);
      continue;
    }
    const [message] = Messages;
    const job = JSON.parse(message.Body);
    log(`job ${job.job}: ${job.duration_s} s of work`);
    const doneAt = Date.now() + (Number(job.duration_s ?? 60) * 1000) / SPEED;
    while (Date.now() < doneAt) {
      await sleep(Math.min(200, Math.max(0, doneAt - Date.now())));
      if (Date.now() >= renewAt) {
        await setProtection(true); // refused or not, next try at the next 80 % mark
        renewAt = Date.now() + RENEW_AFTER_MS;
        await sqs.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: QUEUE_URL,
            ReceiptHandle: message.ReceiptHandle,
            VisibilityTimeout: PROTECT_MINUTES * 60,
          }),
        );
      }
    }
    await sqs.send(
      new DeleteMessageCommand({
        QueueUrl: QUEUE_URL,
        ReceiptHandle: message.ReceiptHandle,
      }),
    );
    log(`job ${job.job}: done`);
    await setProtection(false);
  }
  log("exiting");
}

main().catch((err) => {
  log("worker failed:", err);
  process.exit(1);
});
