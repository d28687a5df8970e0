/* Must compile: storage may read a saved state through its codec. */
#include "nx/desk_state.h"
int nx_edge_ok_storage_state(void);
int nx_edge_ok_storage_state(void)
{
    return NX_STATE_VERSION;
}
