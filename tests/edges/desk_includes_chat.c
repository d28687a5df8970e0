/* Must NOT compile: the desk never knows chat (chat uses the desk). */
#include "nx/chat.h"
int nx_edge_violation_desk(void);
int nx_edge_violation_desk(void)
{
    return (int)sizeof(nx_chat_health_t);
}
