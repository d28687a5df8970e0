/* Must NOT compile: a plugin sees nexus_plugin.h and nothing else. */
#include "nexus_plugin.h"
#include "nx/ring.h"
int nx_edge_violation_plugin(void);
int nx_edge_violation_plugin(void)
{
    return NX_RING_MAX_CONSUMERS;
}
