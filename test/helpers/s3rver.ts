// Runs s3rver (S3 on loopback) in a child process started with
// --openssl-legacy-provider (see test/objstore/s3rver-child.mjs for why).

import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export function startS3rver(dir: string): Promise<{ proc: ChildProcess; port: number }> {
  const script = fileURLToPath(new URL('../objstore/s3rver-child.mjs', import.meta.url));
  const proc = spawn(process.execPath, ['--openssl-legacy-provider', script, dir], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`s3rver did not start in 20 s: ${err}`)), 20_000);
    proc.stdout!.setEncoding('utf8');
    proc.stdout!.on('data', (s: string) => {
      out += s;
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve({ proc, port: (JSON.parse(out.slice(0, nl)) as { port: number }).port });
      }
    });
    proc.stderr!.on('data', (s: Buffer) => (err += s.toString()));
    proc.on('error', reject);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`s3rver exited with code ${code}: ${err}`));
    });
  });
}

