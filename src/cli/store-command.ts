// `cpath store check DIR`: SQLite's integrity check of a `cpath serve` store, read-only (a
// running server may keep writing). Exit 0: intact; 1: damaged or not readable as a store.
import type { Command } from 'commander';
import { SpanStore, StoreError, isStoreDamage } from '../store/span-store.js';
import { ExitStatus } from './options.js';

export function addStoreCommand(program: Command): void {
  const store = program.command('store').description('Inspect the span store of `cpath serve`.');
  store
    .command('check')
    .argument('<dir>', 'the store directory (serve --store)')
    .description('Run SQLite\'s integrity check on the store and report; exit 0 when intact, 1 when damaged or unreadable.')
    .action((dir: string) => {
      const out = (line: string): void => void process.stdout.write(`${line}\n`);
      let s: SpanStore;
      try {
        s = SpanStore.openReadOnly(dir);
      } catch (e) {
        if (e instanceof StoreError) {
          out(`${e.message}`);
          throw new ExitStatus(1);
        }
        throw e;
      }
      try {
        const problems = s.integrityProblems(100);
        if (problems.length === 0) {
          const { traces, spans } = s.counts();
          out(`${s.file}: intact (${traces} traces, ${spans} spans)`);
          return;
        }
        out(`${s.file}: damaged; SQLite's integrity check found:`);
        for (const p of problems) out(`  ${p}`);
        out(advice(dir));
        throw new ExitStatus(1);
      } catch (e) {
        if (!isStoreDamage(e)) throw e;
        out(`${s.file}: damaged (SQLite: ${e instanceof Error ? e.message : String(e)}); the integrity check could not finish.`);
        out(advice(dir));
        throw new ExitStatus(1);
      } finally {
        s.close();
      }
    });
}

function advice(dir: string): string {
  return `Move ${dir} aside (mv ${dir} ${dir}.damaged) and start cpath serve with an empty store; \`cpath analyze --store ${dir}.damaged\` still reads what is intact.`;
}
