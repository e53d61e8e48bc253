// The undo journal of a forward pass. forward() may run modules nested to any depth (Sequential
// today, free-form forward methods calling child forward()s later); only the outermost call owns
// the journal. A module that changes state during forward (BatchNorm's running statistics) saves
// what it is about to change, once per pass, into storage it keeps and records itself here; the
// outermost forward() puts every record back if any Error escapes it, and forgets them on success.
// A failed forward therefore changes no state, with nothing allocated per step.

/** State a module changed during the current forward pass and can put back. */
export interface Undoable {
  /** Restores what the module saved before changing it in this pass. */
  rollback(): void;
}

let depth = 0;
let pass = 0;
const records: Undoable[] = [];

/**
 * The number of the forward pass in progress, or 0 outside any forward(). A module saves its
 * state once per pass: a second change in the same pass must not overwrite the first copy.
 */
export function currentPass(): number { return depth > 0 ? pass : 0; }

/** Adds a module whose state was saved for this pass (call only while currentPass() is not 0). */
export function record(entry: Undoable): void { records.push(entry); }

/** Enters a forward() call; returns whether it is the outermost one (the journal's owner). */
export function enterForward(): boolean {
  if (depth++ > 0) return false;
  pass++;
  records.length = 0;
  return true;
}

/**
 * Leaves a forward() call. The outermost one forgets the records when it succeeded and rolls
 * every one back, newest first, when it failed.
 */
export function leaveForward(outermost: boolean, failed: boolean): void {
  depth--;
  if (!outermost) return;
  if (failed) for (let i = records.length - 1; i >= 0; i--) records[i].rollback();
  records.length = 0;
}
