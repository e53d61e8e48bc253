// Reading fixed-size records from files in chunks, for the datasets that stream from disk: a
// chunk buffer made once per pass, so a file of any size costs about one chunk of memory.
import { platform } from '#platform';
import type { OpenFile } from '../platform/platform.js';
import { formatBytes } from '../io/untrusted.js';

/** About how many bytes a chunk holds (at least one record). */
const CHUNK_BYTES = 1 << 20;

/** Records per chunk for records of `recordBytes`. */
export function chunkRecords(recordBytes: number): number {
  return Math.max(1, Math.floor(CHUNK_BYTES / recordBytes));
}

/** Opens a file for streaming; in a browser an Error saying `where` needs Node. */
export async function openRecords(where: string, path: string): Promise<OpenFile> {
  if (!platform.node) throw new Error(`${where}: streams files from disk, which needs Node; in a page use sn.data.Dataset.fromGenerator over fetched data`);
  return platform.openFile(path);
}

/** Fills into[0, length) from byte `position` of the file, or throws naming the file when it ends sooner. */
export async function readExactly(file: OpenFile, into: Uint8Array, length: number, position: number, source: string): Promise<void> {
  let done = 0;
  while (done < length) {
    const n = await file.read(into, done, length - done, position + done);
    if (n === 0) {
      throw new Error(`${source}: the file ended at byte ${position + done}, before the ${formatBytes(position + length)} bytes it had when the dataset was made (was it changed?)`);
    }
    done += n;
  }
}

/** Throws unless the file still has the size it had when the dataset was made. */
export function checkUnchanged(file: OpenFile, size: number, source: string): void {
  if (file.size !== size) throw new Error(`${source}: the file has ${file.size} bytes, it had ${size} when the dataset was made (was it changed?)`);
}
