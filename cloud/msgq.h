/* A bounded multi-producer, multi-consumer queue of received messages. The transport's thread
 * pushes copies (never blocking); worker threads pop them. */
#ifndef ES_MSGQ_H
#define ES_MSGQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct msg {
    struct msg *next;
    int64_t queued_us; /* clock_mono_us() when pushed */
    size_t len;
    char topic[96];
    uint8_t payload[]; /* len bytes */
};

struct msgq;

/* A queue holding at most max_msgs messages and max_bytes payload bytes. NULL on no memory. */
struct msgq *msgq_new(size_t max_msgs, size_t max_bytes);

/* Frees q and every message still in it. Accepts NULL. */
void msgq_free(struct msgq *q);

/* Copies the message in. Returns false (copying nothing) when the queue is full or closed, or
 * memory runs out; the caller then asks for a later redelivery. A topic too long for
 * struct msg is truncated (the worker then rejects it as malformed). */
bool msgq_push(struct msgq *q, const char *topic, const uint8_t *payload, size_t len);

/* Waits for a message and returns it; the caller frees it with free(). Returns NULL once the
 * queue is closed and empty. */
struct msg *msgq_pop(struct msgq *q);

/* Refuses new messages and wakes every waiting consumer; queued messages are still popped. */
void msgq_close(struct msgq *q);

/* Messages queued now. */
size_t msgq_depth(struct msgq *q);

/* How long the oldest queued message has waited at now_us (clock_mono_us); 0 when empty. */
int64_t msgq_oldest_wait_us(struct msgq *q, int64_t now_us);

#endif
