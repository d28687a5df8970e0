/*
 * event_json.h — one event as one JSON object, prices as exact decimal
 * strings ("35547.19"), for `nexus decode`, `nexus run --events` and the
 * journal's stored text.
 * Not for the hot path (snprintf).
 */
#ifndef NX_EVENT_JSON_H
#define NX_EVENT_JSON_H

#include <stddef.h>

#include "nx/event.h"
#include "nx/symtab.h"

/* Write e as JSON into buf (NUL-terminated). Returns the length, or 0 if
 * cap was too small (1024 always suffices). */
size_t nx_event_json(const nx_event_t *e, const nx_symtab_t *t, char *buf, size_t cap);

#endif
