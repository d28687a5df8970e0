/* Must NOT compile: the cortex (below servos) never sees the chat layer. */
#include "nx/chat.h"
int nx_edge_violation_cortex(void);
int nx_edge_violation_cortex(void)
{
    return (int)sizeof(nx_chat_health_t);
}
