<?php
// A minimal amoCRM (Kommo) webhook receiver: log what arrived, answer 200 at once.
//
//   WEBHOOK_LOG=hooks.jsonl php -S 127.0.0.1:8000 examples/php/receiver.php
//
// WEBHOOK_LOG: file to append one JSON line per webhook to (default: stderr).
// WEBHOOK_CHECK_UA=1: answer 403 unless the User-Agent is amoCRM's.
// amoCRM resends a webhook that got no 2xx, so do slow work after answering.

if ($_SERVER['REQUEST_METHOD'] !== 'POST') {
    http_response_code(405);
    header('Allow: POST');
    exit;
}

$agent = $_SERVER['HTTP_USER_AGENT'] ?? '';
if (getenv('WEBHOOK_CHECK_UA') === '1' && !str_starts_with($agent, 'amoCRM-Webhooks')) {
    http_response_code(403);
    exit;
}

// $_POST is already decoded: leads[status][0][id] is $_POST['leads']['status'][0]['id'].
$line = json_encode($_POST, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES
    | JSON_INVALID_UTF8_SUBSTITUTE);
file_put_contents(getenv('WEBHOOK_LOG') ?: 'php://stderr', $line . "\n", FILE_APPEND | LOCK_EX);

http_response_code(200);
echo 'OK';
