/* Must NOT compile: the shield (below servos) never sees storage. */
#include "nx/store.h"
int nx_edge_violation_shield(void);
int nx_edge_violation_shield(void)
{
    return NX_ROLE_OWNER;
}
