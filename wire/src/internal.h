/*
 * internal.h - what the wire's source files share and nothing else sees.
 */
#ifndef TLSRIG_WIRE_INTERNAL_H
#define TLSRIG_WIRE_INTERNAL_H

#include "wire.h"

/* Big-endian readers and writers for wire fields. */
static inline uint16_t wire__u16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t wire__u24(const uint8_t *p)
{
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static inline void wire__set_alert(int *alert, int value)
{
    if (alert != NULL)
        *alert = value;
}

/* wire__now: CLOCK_MONOTONIC seconds. */
double wire__now(void);

#endif
