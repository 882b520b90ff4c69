/* Per-frame memory for Jansson.
 *
 * Between json_frame_begin() and the matching json_frame_end(), every allocation Jansson makes on
 * the calling thread comes from that thread's frame arena, a fixed slab carved by bumping a
 * pointer; json_frame_end() takes the whole slab back at once. A frame's result object, its
 * members and its parsed acknowledgements then cost no malloc once the program is warm.
 *
 * The rule that comes with it: a JSON value made inside a frame scope is gone when the scope
 * ends. Values made outside any scope use malloc as before, and any value may be freed anywhere
 * (a free of arena memory is a no-op, whichever thread or scope frees it). Text from json_dumps
 * made inside a scope is arena memory too: do not pass it to free(); result_dump() and
 * result_dump_into() are safe anywhere. Under AddressSanitizer a slab is poisoned when its scope
 * ends and between its blocks, so a value used after its frame is reported.
 *
 * A thread takes a slab at its first scope and gives it back when it exits; when every slab is
 * taken (JSON_FRAME_SLABS threads at once), or a frame needs more than a slab, the rest comes
 * from malloc. Scopes nest; only the outermost end frees. */
#ifndef ES_JSON_FRAME_H
#define ES_JSON_FRAME_H

#include <stddef.h>

#define JSON_FRAME_SLABS 64
#define JSON_FRAME_SLAB_BYTES (64u * 1024u)

/* Installs the allocator into Jansson (json_set_alloc_funcs), once per process. Call it before
 * any other thread uses Jansson (json_frame_begin also calls it, for single-threaded callers).
 * Returns 0, or -1 when the slabs could not be mapped (Jansson then keeps malloc). */
int json_frame_init(void);

/* Opens a frame scope on this thread. */
void json_frame_begin(void);

/* Closes it; the outermost close frees every value made in the scope. */
void json_frame_end(void);

/* Bytes of this thread's slab in use now; 0 outside a scope or without a slab (tests). */
size_t json_frame_used(void);

#endif
