/* Must NOT compile: storage reads saved states through their codec
 * (desk_state.h) but never sees the desk itself. */
#include "nx/desk.h"
int nx_edge_violation_storage(void);
int nx_edge_violation_storage(void)
{
    return NX_DESK_TRADES;
}
