// A minimal Express receiver for amoCRM (Kommo) webhooks: log what arrived, answer 200 at once.
//
//   npm ci && WEBHOOK_LOG=hooks.jsonl node receiver.js 8000
//
// Port: the first argument, else PORT, else 8000 (0 picks a free one). Host: HOST, else
// 127.0.0.1. WEBHOOK_LOG: file to append one JSON line per webhook to (default: stderr).
// amoCRM resends a webhook that got no 2xx, so do slow work after answering.
'use strict';
const fs = require('node:fs');
const express = require('express');

const app = express();
// extended: true parses leads[status][0][id] into nested objects and arrays (the qs package).
// The defaults (100kb, 1000 variables) answer 413 to a big batch of leads or contacts.
app.use(express.urlencoded({ extended: true, limit: '8mb', parameterLimit: 100000 }));

app.post('/{*path}', (req, res) => {
  const line = JSON.stringify(req.body) + '\n'; // req.body.leads.status[0].id, ...
  if (process.env.WEBHOOK_LOG) fs.appendFileSync(process.env.WEBHOOK_LOG, line);
  else process.stderr.write(line);
  res.send('OK');
});

const port = Number(process.argv[2] ?? process.env.PORT ?? 8000);
const server = app.listen(port, process.env.HOST || '127.0.0.1', () => {
  const { address, port } = server.address();
  console.log(`Listening on http://${address}:${port}`);
});
