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
  // The bytes themselves are kept and compared (a config file is a few KB), so no hash is needed.
  const content = () => {
    try {
      return readFileSync(file);
    } catch {
      return undefined;
    }
  };
  let last = content();
  let timer: NodeJS.Timeout | undefined;
  const check = () => {
    timer = undefined;
    const now = content();
    if (now === last || (now !== undefined && last !== undefined && now.equals(last))) return;
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
