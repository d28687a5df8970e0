/* Must NOT compile: the effectors (below servos) never see the desk. */
#include "nx/desk.h"
int nx_edge_violation_effectors(void);
int nx_edge_violation_effectors(void)
{
    return NX_DESK_TRADES;
}
