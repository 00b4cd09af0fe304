/* A writer thread: one write at a time runs beside the caller's computing, so that a block's
 * output reaches the file while the next block is computed. */
#ifndef CLI_WRITER_H
#define CLI_WRITER_H

#include <stdbool.h>

/* Writes what arg describes; false on failure (after reporting it). */
typedef bool (*cli_write_fn)(void *arg);

typedef struct cli_writer cli_writer;

/* NULL (and an error reported) when no thread can be had. */
cli_writer *cli_writer_start(void);
/* Hands fn(arg) to the thread once the previous write is done; false when a write has failed
 * (then nothing more is written). arg must stay valid until the next submit or finish. */
bool cli_writer_submit(cli_writer *w, cli_write_fn fn, void *arg);
/* Waits for the last write, ends the thread, frees w (NULL accepted); whether every write
 * succeeded. */
bool cli_writer_finish(cli_writer *w);

#endif /* CLI_WRITER_H */
