/* outbox_int.h - what the outbox's parts share: outbox_compose.c (a run's
 * digests), outbox_deliver.c (sending them through a transport.h
 * transport) and outbox_admin.c (the operators' list, show, retry and
 * stats). Not for use outside them; outbox.h is the outbox's interface. */
#ifndef OB_OUTBOX_INT_H
#define OB_OUTBOX_INT_H

#include <stddef.h>

/* n (at most 16) random bytes as 2n hex digits into out (2n + 1 bytes):
 * the Message-IDs' and the delivery locks' nonces. */
void ob_outbox_random_hex(char *out, size_t n);

#endif
