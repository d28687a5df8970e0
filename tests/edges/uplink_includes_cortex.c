/* Must NOT compile: uplink may use core only, never another biome. */
#include "nx/cortex.h"
int nx_edge_violation_uplink(void);
int nx_edge_violation_uplink(void)
{
    return NX_TF_1M;
}
