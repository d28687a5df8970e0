/* Must NOT compile: the desk knows nothing of storage; it journals, and
 * the engine stores. */
#include "nx/store.h"
int nx_edge_violation_desk_storage(void);
int nx_edge_violation_desk_storage(void)
{
    return NX_ROLE_OWNER;
}
