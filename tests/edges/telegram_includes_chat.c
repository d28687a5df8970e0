/* Must NOT compile: the Telegram client is a transport; it knows nothing
 * of the chat layer above it. */
#include "nx/chat.h"
int nx_edge_violation_telegram(void);
int nx_edge_violation_telegram(void)
{
    return (int)sizeof(nx_chat_health_t);
}
