/* global process */
// Runs s3rver for the S3 conformance tests. It lives in its own process because
// s3rver's ListObjectsV2 continuation tokens use DES, which OpenSSL 3 only has
// in the legacy provider, and --openssl-legacy-provider must be given when Node
// starts. Usage: node --openssl-legacy-provider s3rver-child.mjs <dataDir>
// Prints one JSON line {"port":N} on stdout once listening; exits when stdin
// closes so a crashed test run leaves no server behind.
import S3rver from 's3rver';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: s3rver-child.mjs <dataDir>\n');
  process.exit(2);
}

const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir });
const addr = await server.run();
process.stdout.write(JSON.stringify({ port: addr.port }) + '\n');

const stop = () => {
  server.close().finally(() => process.exit(0));
};
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
