/**
 * A way to give up on an operation: the same job as an AbortSignal, without the cost. Aborting an AbortController
 * builds a DOMException with a stack trace, and the request path gives up on an upstream attempt for every query
 * that a retransmission or another upstream answered first — on a flood of misses that showed in profiles.
 */
export class Cancel {
  private listeners: (() => void)[] | undefined = [];

  get cancelled(): boolean {
    return this.listeners === undefined;
  }

  /** Calls `fn` once on cancel (at once if already cancelled); returns what unregisters it. */
  onCancel(fn: () => void): () => void {
    const list = this.listeners;
    if (list === undefined) {
      fn();
      return () => {};
    }
    list.push(fn);
    return () => {
      // Once cancelled, the list is being walked (and is done with): a listener that unregisters itself from its
      // own callback must not shift the others under the walk, or some would never be called.
      if (this.listeners !== list) return;
      const i = list.indexOf(fn);
      if (i !== -1) list.splice(i, 1);
    };
  }

  cancel(): void {
    const list = this.listeners;
    if (list === undefined) return;
    this.listeners = undefined;
    for (const fn of list) fn();
  }
}
