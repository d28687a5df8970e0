/* Must compile: the chat layer may use the desk. */
#include "nx/chat.h"
#include "nx/desk.h"
int nx_edge_ok_chat_desk(void);
int nx_edge_ok_chat_desk(void)
{
    return NX_DESK_TRADES;
}
