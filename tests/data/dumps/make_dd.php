<?php
// Writes tests/data/dumps/dd/<case>.txt: what Symfony VarDumper's CliDumper
// (what dd() and dump() print in a terminal or a log) prints for the $_POST
// that PHP decodes from each body named on the command line.
//
//   php tests/data/dumps/make_dd.php tests/fixtures/captures/2025_leads_add.txt ...
//
// Needs symfony/var-dumper: Debian's php-symfony-var-dumper, or Composer's
// vendor/autoload.php (give its path in VAR_DUMPER_AUTOLOAD).

require getenv('VAR_DUMPER_AUTOLOAD') ?: '/usr/share/php/Symfony/Component/VarDumper/autoload.php';

use Symfony\Component\VarDumper\Cloner\VarCloner;
use Symfony\Component\VarDumper\Dumper\CliDumper;

$dumper = new CliDumper();
$dumper->setColors(false);
$cloner = new VarCloner();
foreach (array_slice($argv, 1) as $path) {
    $post = [];
    parse_str(file_get_contents($path), $post);
    $out = __DIR__ . '/dd/' . basename($path, '.txt') . '.txt';
    file_put_contents($out, $dumper->dump($cloner->cloneVar($post), true));
}
