import { createHash } from 'node:crypto';
import { type FSWatcher, readFileSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';

/**
 * Calls `onChange` when the content of `file` changes. Watches the file's directory, not the file: a Kubernetes
 * ConfigMap volume updates by swapping the `..data` symlink, which never touches the file's own inode. Events are
 * debounced, and a change is only reported when the bytes differ from the last ones seen, so touching the file or a
 * burst of events reloads once. A slow poll backs up the watch for filesystems that deliver no events.
 */
export function watchConfigFile(
  file: string,
  onChange: () => void,
  opts: { debounceMs?: number; pollMs?: number } = {},
) {
  const debounceMs = opts.debounceMs ?? 250;
  const digest = () => {
    try {
      return createHash('sha256').update(readFileSync(file)).digest('hex');
    } catch {
      return 'unreadable';
    }
  };
  let last = digest();
  let timer: NodeJS.Timeout | undefined;
  const check = () => {
    timer = undefined;
    const now = digest();
    if (now === last) return;
    last = now;
    onChange();
  };
  const schedule = () => {
    if (timer === undefined) timer = setTimeout(check, debounceMs);
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(file), (_event, name) => {
      // The file itself, or the ConfigMap's ..data / ..timestamp entries.
      if (name === null || name === basename(file) || name.startsWith('..')) schedule();
    });
    watcher.on('error', () => {});
  } catch {
    watcher = undefined;
  }
  const poll = setInterval(schedule, opts.pollMs ?? 10_000);
  poll.unref();
  return {
    close() {
      watcher?.close();
      clearInterval(poll);
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}
